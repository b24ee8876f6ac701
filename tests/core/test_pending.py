"""Documents completed in the background (`yprov_workflows.pending`): `settle` waits for them,
and raises again what strict mode raised there, once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yprov_workflows.errors import RecordingError
from yprov_workflows.pending import complete_later, settle


def test_settle_waits_for_the_completion(tmp_path: Path) -> None:
    go, done = threading.Event(), []

    def work() -> None:
        go.wait(5)
        done.append(True)

    complete_later(tmp_path / "run", work, "test")
    go.set()
    settle()
    assert done == [True]


def test_a_strict_failure_comes_back_from_settle_once(tmp_path: Path) -> None:
    def work() -> None:
        raise RecordingError("yprov-workflows: adding undecorated task runs failed")

    complete_later(tmp_path / "run", work, "test")
    with pytest.raises(RecordingError, match="undecorated"):
        settle(tmp_path / "run")
    settle()  # said once
