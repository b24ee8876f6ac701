"""The output folder (`.yprov`) stands for its newest run, also when that run was killed before
its document was written: `.latest` moves only when a document is written, so it still names the
run before, whose document a user would otherwise get without a word."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from records_factory import run_start, step

from yprov_workflows.recorder import Recorder
from yprov_workflows.runs import newest_run
from yprov_workflows.settings import Settings


def yprov(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


KILLED = """
import os, sys
sys.path.insert(0, {factory!r})
from records_factory import run_start, step
from yprov_workflows.recorder import Recorder
from yprov_workflows.settings import Settings
from pathlib import Path
recorder = Recorder(Settings(), Path({out!r}))
recorder.start(run_start("r2"))
recorder.record_step(step(2, run_id="r2"))
os._exit(0)  # killed: no end record, no document
"""


def test_the_output_folder_gives_a_run_killed_after_the_latest_document(tmp_path: Path) -> None:
    out = tmp_path / ".yprov"
    finished = Recorder(Settings(), out)
    finished.start(run_start("r1"))
    finished.record_step(step(1, run_id="r1"))
    finished.finish("completed")
    assert newest_run(out) == (out / "r1").resolve()
    factory = str(Path(__file__).parent)
    script = KILLED.format(factory=factory, out=str(out))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert newest_run(out) == out / "r2"
    exported = yprov("export", str(out), "-o", "-")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert any("key2" in json.dumps(a) for a in document["activity"].values())
    shown = yprov("show", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "r2" in shown.stdout and "incomplete" in shown.stdout, shown.stdout
