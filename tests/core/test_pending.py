"""Documents completed in the background (`yprov_workflows.pending`): `settle` waits for them,
and raises again what strict mode raised there, once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yprov_workflows.errors import RecordingError
from yprov_workflows.pending import Written, complete_later, settle, wait_written


def test_settle_waits_for_the_completion(tmp_path: Path) -> None:
    go, done = threading.Event(), []

    def work(written: Written) -> None:
        go.wait(5)
        done.append(True)

    complete_later(tmp_path / "run", work, "test")
    go.set()
    settle()
    assert done == [True]


def test_a_strict_failure_comes_back_from_settle_once(tmp_path: Path) -> None:
    def work(written: Written) -> None:
        raise RecordingError("yprov-workflows: adding undecorated task runs failed")

    complete_later(tmp_path / "run", work, "test")
    with pytest.raises(RecordingError, match="undecorated"):
        settle(tmp_path / "run")
    settle()  # said once


def test_wait_written_waits_for_the_document_not_for_what_follows(tmp_path: Path) -> None:
    steps: list[str] = []
    document, rest = threading.Event(), threading.Event()

    def work(written: Written) -> None:
        document.wait(5)
        steps.append("document")
        written()
        rest.wait(5)  # the API part: still running when `wait_written` returns
        steps.append("rest")

    wait_written(tmp_path / "run")  # nothing pending: returns at once
    complete_later(tmp_path / "run", work, "test")
    threading.Timer(0.2, document.set).start()
    wait_written(tmp_path / "run")
    assert steps == ["document"]
    rest.set()
    settle()
    assert steps == ["document", "rest"]


def test_a_completion_that_fails_still_counts_as_written(tmp_path: Path) -> None:
    """No waiter hangs on a completion that ended without saying `written()`."""

    def work(written: Written) -> None:
        raise RecordingError("yprov-workflows: closing the run failed")

    complete_later(tmp_path / "run", work, "test")
    wait_written(tmp_path / "run")
    with pytest.raises(RecordingError, match="closing the run"):
        settle()
