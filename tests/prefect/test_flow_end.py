"""The flow's end: the document is written before the flow returns; what only Prefect's API knows
(undecorated task runs) and the summary artifact follow from a background thread that the
interpreter waits for, so they are there once the process has exited, and `settle()` waits for
them in the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prefect import task

from yprov_prefect import prov_flow, prov_task, settle
from yprov_workflows.testing import RunDocument

SCRIPT = """
from prefect import task
from yprov_prefect import prov_flow, prov_task

@task
def plain(x):
    return x + 1

@prov_task
def ours(x):
    return x * 2

@prov_flow
def mixed():
    return plain(ours(1))

print(mixed())
"""  # the process exits right after the flow returned


def _artifacts(flow_run_id: str) -> list[str]:
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    found = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)]))
    with get_client(sync_client=True) as client:
        return [str(a.data) for a in client.read_artifacts(artifact_filter=found)]


def test_a_script_that_exits_right_after_its_flow(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "YPROV_STRICT": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Error emitting event" not in done.stderr, done.stderr[-3000:]  # nothing at its exit
    run = RunDocument.latest(tmp_path)
    run.assert_valid()
    (ours,) = run.steps("ours")
    (plain,) = run.steps("plain")
    assert ours["ywf:usage_source"].startswith("rusage_thread")
    assert plain["ywf:usage_source"] == "unmeasured"  # structure only: from the API
    flow_run_id = run.path.resolve().parent.name if run.path else ""  # .yprov/<flow run id>/
    assert any("### Provenance (yprov-workflows)" in text for text in _artifacts(flow_run_id))


@task
def undecorated(x: int) -> int:
    return x + 1


@prov_task
def decorated(x: int) -> int:
    return x * 2


@prov_flow
def mixed_here() -> int:
    return undecorated(decorated(1))


def test_settle_waits_for_the_background_part(workdir: Path) -> None:
    assert mixed_here() == 3
    settle()
    document = next((workdir / ".yprov").glob("*/*.prov.json"))
    run = RunDocument(__import__("json").loads(document.read_text()), document)
    assert len(run.steps("undecorated")) == 1 and len(run.steps("decorated")) == 1
