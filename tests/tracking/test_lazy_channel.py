"""`StepChannel.lazy`: no file until a step logs; then the same channel `open` makes."""

from __future__ import annotations

import contextvars
import json
import os
import pickle
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine import MiniEngine, OpenStep

import yprov_workflows as yp
from yprov_workflows.errors import RecordingError
from yprov_workflows.tracking import StepChannel, TrackingWarning
from yprov_workflows.tracking.channel import CURRENT


def lazy_step(engine: MiniEngine, name: str) -> OpenStep:
    return OpenStep(name, name, StepChannel.lazy(engine.run_dir, name, time.monotonic()))


def test_a_step_that_logs_nothing_makes_no_file(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    step = lazy_step(engine, "quiet")
    with step.channel.active():
        assert CURRENT.get() is step.channel
    assert not step.channel.opened
    assert step.channel.run_dir == engine.run_dir
    record = engine.record(step)
    engine.finish()
    assert not (engine.run_dir / "tracking").exists()
    assert (record.metrics, record.hyperparams, record.artifacts) == ((), {}, ())


def test_the_first_logging_call_makes_the_folder(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    started = time.monotonic() - 5.0
    before = time.time()
    channel = StepChannel.lazy(engine.run_dir, "train", started)
    time.sleep(0.05)
    with channel.active():
        assert not channel.opened
        yp.log_params({"lr": 0.5})
        assert channel.opened
        for epoch in range(3):
            yp.log_metric("loss", 1.0 / (epoch + 1), step=epoch, context="training")
            yp.log_system_metrics(step=epoch)
    info = json.loads((channel.folder / "channel.json").read_text())
    assert info["step_key"] == "train" and info["started_monotonic"] == started
    assert before <= info["started_unix"] < before + 0.05  # the call's time, not the folder's
    record = engine.record(OpenStep("train", "train", channel))
    document = engine.finish()
    assert record.hyperparams == {"lr": 0.5}
    series = {(s.name, s.context): s for s in record.metrics}
    assert series[("loss", "training")].last == 1 / 3
    assert series[("time_s", "system")].first >= 5.0  # counted from the step's start
    assert len(document.steps()) == 1


def test_env_hands_the_folder_to_child_processes_without_making_it(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    step = lazy_step(engine, "child")
    env = {**os.environ, **step.channel.env()}
    assert not step.channel.opened and not Path(env["YPROV_STEP_DIR"]).exists()
    code = "import yprov_workflows as yp; yp.log_metric('loss', 0.25, step=7)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    record = engine.record(step)
    engine.finish()
    (loss,) = record.metrics
    assert (loss.count, loss.last, loss.max_step) == (1, 0.25, 7)


def test_threads_that_log_first_at_once_share_one_folder(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    step = lazy_step(engine, "shared")
    start = threading.Barrier(8)

    def body(number: int) -> None:
        start.wait()
        yp.log_metric(f"m{number}", float(number))

    with step.channel.active():  # the user's threads, given the step's context
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(body, n))
            for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(list((engine.run_dir / "tracking").iterdir())) == 1
    record = engine.record(step)
    engine.finish()
    assert sorted(s.name for s in record.metrics) == [f"m{n}" for n in range(8)]


def test_pickling_makes_the_folder_so_both_processes_share_it(tmp_path: Path) -> None:
    channel = StepChannel.lazy(tmp_path, "task")
    copy = pickle.loads(pickle.dumps(channel))
    assert channel.opened and copy.folder == channel.folder


def test_each_lazy_attempt_gets_its_own_folder(tmp_path: Path) -> None:
    first = StepChannel.lazy(tmp_path, "job").made()
    second = StepChannel.lazy(tmp_path, "job").made()
    assert first.folder != second.folder and first.folder.parent == second.folder.parent


def _generator(channel: StepChannel) -> Iterator[int]:
    with channel.active():
        yield 1
        yield 2


def test_a_block_that_ends_in_another_context_does_not_fail(tmp_path: Path) -> None:
    """A generator step resumed in another context than it began in (its `reset` would raise)."""
    channel = StepChannel.lazy(tmp_path, "gen")
    items = _generator(channel)
    assert contextvars.copy_context().run(next, items) == 1
    assert contextvars.copy_context().run(next, items) == 2
    with pytest.raises(StopIteration):
        contextvars.copy_context().run(next, items)
    assert CURRENT.get() is None


def test_a_folder_that_cannot_be_made_is_a_tracking_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    channel = StepChannel.lazy(blocked, "s")
    assert "YPROV_STEP_DIR" in channel.env()  # handed over; the first process that logs fails
    with pytest.raises(OSError):
        channel.made()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with channel.active():
            yp.log_metric("loss", 1.0)  # warns, the code goes on
    assert any(issubclass(w.category, TrackingWarning) for w in caught)
    assert not channel.opened
    monkeypatch.setenv("YPROV_STRICT", "1")
    from yprov_workflows.tracking.process import PROCESS

    PROCESS.forget()
    with channel.active(), pytest.raises(RecordingError):
        yp.log_metric("loss", 1.0)
