"""A step killed with SIGKILL mid-training keeps every point logged more than a second before the
kill, and its collected document validates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from engine import MiniEngine

from yprov_workflows.tracking.read import find_series, read_series

TRAINING = textwrap.dedent(
    """
    import os, sys, time
    import yprov_workflows as yp
    progress = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    yp.log_params({"lr": 0.1})
    step = 0
    while True:
        yp.log_metric("loss", 1.0 / (step + 1), step=step, context="training")
        os.write(progress, f"{step} {time.time()}\\n".encode())  # what was logged, and when
        step += 1
        time.sleep(0.002)
    """
)


def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path / "out", strict=False)
    step = engine.open("train")
    progress = tmp_path / "progress.txt"
    env = {**os.environ, **step.channel.env()}
    child = subprocess.Popen([sys.executable, "-c", TRAINING, str(progress)], env=env)
    deadline = time.monotonic() + 60
    while not progress.exists() or progress.read_text().count("\n") < 300:
        assert child.poll() is None and time.monotonic() < deadline, "the training did not run"
        time.sleep(0.05)
    time.sleep(1.5)  # several flushes happened
    killed_at = time.time()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    record = engine.record(step)
    document = engine.finish()  # validates
    logged = [line.split() for line in progress.read_text().splitlines() if line.count(" ") == 1]
    old = {int(number) for number, at in logged if float(at) < killed_at - 1.0}
    (ref,) = find_series(document.doc, name="loss")
    kept = {point[0] for point in read_series(engine.run_dir, ref) or []}
    assert old and old <= kept, f"lost {len(old - kept)} points older than a second"
    (loss,) = record.metrics
    assert loss.count == len(kept)  # the summary was recomputed where the kill left it stale
    assert loss.first == 1.0 and loss.min_step == max(kept)
    assert record.hyperparams == {"lr": 0.1}
