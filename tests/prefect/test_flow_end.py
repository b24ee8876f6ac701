"""The flow's end: the document is written before the flow returns; what only Prefect's API knows
(undecorated task runs) and the summary artifact follow from a background thread that the
interpreter waits for, so they are there once the process has exited, and `settle()` waits for
them in the process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
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


def test_the_ends_api_work_begins_after_prefect_reported_the_final_state(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our questions to the API at the end (task runs it knows, the artifact) would share the
    server with Prefect's report of the final state, which the flow's return waits for: they
    begin once our final-state hook was called, with the state already set."""
    from prefect import get_client

    from yprov_prefect import flow_run

    states: list[str] = []
    undecorated_steps = flow_run.undecorated_steps

    def spy(flow_run_id: object, *args: object, **kwargs: object) -> object:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state  # type: ignore[arg-type]
        states.append(str(state.type.value if state is not None else None))
        return undecorated_steps(flow_run_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(flow_run, "undecorated_steps", spy)
    assert mixed_here() == 3
    settle()
    assert states == ["COMPLETED"]
    assert flow_run._REPORTED == {}, "nothing kept once the run's end is done"


def _document_of(workdir: Path, flow_run_id: object) -> RunDocument | None:
    found = list((workdir / ".yprov" / str(flow_run_id)).glob("*.prov.json"))
    if not found:
        return None
    return RunDocument(__import__("json").loads(found[0].read_text()), found[0])


SEEN: dict[str, object] = {}


def _user_hook(flow: object, flow_run: object, state: object) -> None:
    """A user's final-state hook: what it finds of the run's document."""
    document = _document_of(Path.cwd(), getattr(flow_run, "id", ""))
    SEEN["status"] = None if document is None else document.run["ywf:status"]
    SEEN["steps"] = None if document is None else len(document.steps("decorated"))


@prov_flow(on_completion=[_user_hook], on_failure=[_user_hook])
def hooked(fail: bool = False) -> int:
    value = decorated(1)
    if fail:
        raise ValueError("the flow fails after its task")
    return value


def _slow_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's end takes 0.5 s more: a flow that returned before it would have no document."""
    from yprov_workflows.recorder import Recorder

    finish = Recorder.finish

    def slow(self: Recorder, *args: object, **kwargs: object) -> object:
        time.sleep(0.5)
        return finish(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Recorder, "finish", slow)


@pytest.mark.parametrize("fail", [False, True], ids=["completed", "failed"])
@pytest.mark.parametrize("replaced", [False, True], ids=["our-hooks", "with_options"])
def test_the_document_is_written_before_user_hooks_and_the_return(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, fail: bool, replaced: bool
) -> None:
    """The document is written in the background while Prefect reports the final state; our hook
    waits for it, so the user's hooks and the caller find it. A flow whose hooks no longer hold
    ours (`with_options` replaced them) writes it before it returns."""
    _slow_finish(monkeypatch)
    SEEN.clear()
    flow = (
        hooked.with_options(on_completion=[_user_hook], on_failure=[_user_hook])
        if replaced
        else hooked
    )
    state = flow(fail=fail, return_state=True)
    status = "failed" if fail else "completed"
    assert {"status": status, "steps": 1} == SEEN  # the user's hook saw the whole document
    document = _document_of(workdir, state.state_details.flow_run_id)
    assert document is not None and document.run["ywf:status"] == status
    settle()
    document = _document_of(workdir, state.state_details.flow_run_id)
    assert document is not None
    document.assert_valid()


ATTEMPTS: list[int] = []


@prov_flow(retries=1, retry_delay_seconds=0)
def retried() -> int:
    ATTEMPTS.append(1)
    value = decorated(len(ATTEMPTS))
    if len(ATTEMPTS) == 1:
        raise RuntimeError("first attempt fails")
    return value


def test_a_retried_flow_starts_its_next_attempt_after_the_previous_end(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed attempt that Prefect retries calls no final-state hook: the next attempt waits
    for the previous one's end (slowed here) before it opens the run again."""
    _slow_finish(monkeypatch)
    ATTEMPTS.clear()
    assert retried() == 4
    run = RunDocument.latest(workdir)
    run.assert_valid()
    assert run.run["ywf:status"] == "completed"
    assert sorted(s["ywf:status"] for s in run.steps("decorated")) == ["completed", "completed"]


def test_the_end_does_not_read_back_the_journal_it_wrote(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow's process kept the records it wrote: neither the document nor the search for
    task runs the journal lacks parses that journal again (it held the GIL for about 80 ms for
    200 task runs, while the flow's thread returned). The undecorated task run is still found."""
    from yprov_workflows import journal

    read: list[Path] = []
    read_journal = journal.read_journal

    def spy(path: Path, *args: object, **kwargs: object) -> object:
        read.append(Path(path))
        return read_journal(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(journal, "read_journal", spy)
    assert hooked() == 2
    settle()
    assert [p for p in read if p.name == journal.FILENAME] == []
    monkeypatch.setattr(journal, "read_journal", read_journal)
    before = set(_documents(workdir))
    assert mixed_here() == 3  # a task run to add: the journal is read once it has changed
    settle()
    (document,) = set(_documents(workdir)) - before
    run = RunDocument(__import__("json").loads(document.read_text()), document)
    assert len(run.steps("undecorated")) == 1 and len(run.steps("decorated")) == 1


def _documents(workdir: Path) -> list[Path]:
    """The runs' documents, `.yprov/<run>/<run>.prov.json`."""
    return [
        p
        for p in (workdir / ".yprov").glob("*/*.prov.json")
        if p.name == f"{p.parent.name}.prov.json"
    ]
