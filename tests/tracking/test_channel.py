"""The engine contract: steps logging at once never mix, child processes find their step, what a
step logged lands on its activity, and every document validates."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from engine import MiniEngine  # tests/tracking is on sys.path (rootdir-relative imports)

import yprov_workflows as yp
from yprov_workflows.errors import RecordingError
from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import StepRecord, from_json, to_json
from yprov_workflows.redaction import Redactor
from yprov_workflows.tracking import StepChannel, TrackingWarning
from yprov_workflows.tracking.process import PROCESS
from yprov_workflows.tracking.series import FLUSH_AT

POINTS = 400


def points_of(run_dir: Path, step: StepRecord, name: str, context: str | None) -> list[list[str]]:
    series = next(s for s in step.metrics if (s.name, s.context) == (name, context))
    with open(run_dir / series.file.path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["step", "value", "time"]
    return rows[1:]


def test_threads_log_into_their_own_steps(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    steps = [engine.open(f"train{i}") for i in range(4)]
    start = threading.Barrier(4)

    def body(number: int) -> None:
        with steps[number].channel.active():
            start.wait()
            yp.log_param("worker", number)
            for i in range(POINTS):
                yp.log_metric("loss", number * 1000 + i, step=i, context="training")
                yp.log_metrics({"acc": number, "other": -number}, step=i, context="validation")
                if i % 50 == 0:
                    time.sleep(0)  # let the others interleave

    threads = [threading.Thread(target=body, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [engine.record(step) for step in steps]
    document = engine.finish()
    for number, record in enumerate(records):
        rows = points_of(engine.run_dir, record, "loss", "training")
        assert [(int(s), float(v)) for s, v, _ in rows] == [
            (i, number * 1000 + i) for i in range(POINTS)
        ]
        acc = points_of(engine.run_dir, record, "acc", "validation")
        assert {float(v) for _, v, _ in acc} == {number} and len(acc) == POINTS
        assert record.hyperparams == {"worker": number}
        loss = next(s for s in record.metrics if s.name == "loss")
        assert (loss.count, loss.first, loss.last) == (POINTS, number * 1000, number * 1000 + 399)
        assert (loss.min_step, loss.max_step) == (0, POINTS - 1)
    assert len(document.steps()) == 4


def test_asyncio_tasks_interleaved_in_one_loop_keep_their_steps(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    steps = [engine.open(f"task{i}") for i in range(4)]

    async def body(number: int) -> None:
        with steps[number].channel.active():
            for i in range(100):
                yp.log_metric("loss", number + i / 1000, step=i)
                await asyncio.sleep(0)  # the other tasks run between two points

    async def main() -> None:
        await asyncio.gather(*(body(n) for n in range(4)))

    asyncio.run(main())
    records = [engine.record(step) for step in steps]
    engine.finish()
    for number, record in enumerate(records):
        rows = points_of(engine.run_dir, record, "loss", None)
        assert [float(v) for _, v, _ in rows] == [number + i / 1000 for i in range(100)]


CHILD = textwrap.dedent(
    """
    import yprov_workflows as yp
    yp.log_params({"lr": 0.01, "db_password": "hunter2-secret"})
    for epoch in range(5):
        yp.log_metric("loss", 10 - epoch, step=epoch, context="training")
    with open("model.bin", "wb") as handle:
        handle.write(b"weights")
    yp.log_artifact("model.bin", is_model=True)
    """
)


def test_a_child_process_logs_into_its_step_through_the_environment(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path / "out")
    step = engine.open("train")
    env = {**os.environ, **step.channel.env()}
    subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=tmp_path, check=True, timeout=120)
    with step.channel.active():  # the engine's own process logs into the same series
        yp.log_metric("loss", 5, step=5, context="training")
    record = engine.record(step)
    document = engine.finish()
    loss = next(s for s in record.metrics if s.name == "loss")
    assert (loss.count, loss.first, loss.last, loss.min, loss.max) == (6, 10.0, 5.0, 5.0, 10.0)
    assert record.hyperparams == {"lr": 0.01, "db_password": "[redacted]"}
    assert "hunter2-secret" not in (engine.run_dir / "journal.jsonl").read_text()
    for events in (step.channel.folder / "events").iterdir():
        assert "hunter2-secret" not in events.read_text()  # never written in clear
    (artifact,) = record.artifacts
    assert artifact.is_model and artifact.file.size == len(b"weights")
    activity = document.steps("train")[0]
    assert document.outputs_of(activity, "ywf:model") == {"model.bin"}
    assert document.params_of(activity) == {}  # hyper-parameters have their own role
    assert document.inputs_of(activity, "ywf:hyperparameter") == {"lr", "db_password"}


def test_no_step_warns_once_and_writes_nothing(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.warns(TrackingWarning, match="no workflow step to record into"):
        yp.log_metric("loss", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yp.log_metric("loss", 2.0)
        yp.log_params({"lr": 0.1})
        yp.log_system_metrics()
    assert list(tmp_path.iterdir()) == []


def test_a_bad_call_warns_and_the_step_goes_on_or_raises_in_strict_mode(
    tmp_path: Path, monkeypatch: Any
) -> None:
    channel = StepChannel.open(tmp_path, "s")
    with channel.active():
        with pytest.warns(TrackingWarning, match="must be a string"):
            yp.log_metric(3, 1.0)  # type: ignore[arg-type]
        yp.log_metric("fine", 1.0)
        monkeypatch.setenv("YPROV_STRICT", "1")
        PROCESS.forget()
        with pytest.raises(RecordingError, match="must be a string"):
            yp.log_param(None, 1)  # type: ignore[arg-type]


def test_values_that_are_not_numbers_are_dropped_and_reported(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path, strict=False)
    step = engine.open("s")
    with step.channel.active():
        yp.log_metric("loss", "not a number")
        yp.log_metric("loss", 0.5)
        yp.log_metric("loss", float("nan"))
    record = engine.record(step)
    engine.finish()
    (loss,) = record.metrics
    assert (loss.count, loss.first, loss.last, loss.min, loss.max) == (2, 0.5, None, 0.5, 0.5)
    assert any("not a number" in text for text in engine.tracked["s"].problems)
    assert engine.recorder.errors >= 1


def test_points_reach_the_disk_within_a_second_without_any_flush_call(tmp_path: Path) -> None:
    channel = StepChannel.open(tmp_path, "s")
    with channel.active():  # `active` flushes when it ends: log outside it, through the sink
        sink = channel.sink()
    sink.metric("loss", 1.5, 0, None, None, None)
    path = channel.folder / "metrics" / "loss.csv"
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text().count("\n") == 2):
        assert time.monotonic() < deadline, "the flusher thread did not write the point"
        time.sleep(0.05)
    summary = next((channel.folder / "metrics" / "summaries").iterdir())
    assert '"count": 1' in summary.read_text()


def test_memory_holds_a_bounded_number_of_points(tmp_path: Path) -> None:
    channel = StepChannel.open(tmp_path, "s")
    with channel.active():
        yp.log_metric("loss", 0.0)
        series = channel.sink().series[("loss", None)]
        most = 0
        for i in range(FLUSH_AT * 3):
            yp.log_metric("loss", float(i))
            most = max(most, len(series.points))
    assert most < FLUSH_AT
    lines = channel.folder.joinpath("metrics", "loss.csv").read_text().count("\n")
    assert lines == 1 + 1 + 3 * FLUSH_AT


def test_a_stale_summary_is_recomputed_from_the_file(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    step = engine.open("s")
    with step.channel.active():
        for i in range(3):
            yp.log_metric("loss", float(i), step=i)
    data = step.channel.folder / "metrics" / "loss.csv"
    with open(data, "a") as handle:  # a writer killed after its write, before its summary
        handle.write("3,-7.5,1700000000.0\n4,9.0,1700000001.0\n5,1.")  # and a torn last line
    record = engine.record(step)
    engine.finish()
    (loss,) = record.metrics
    assert (loss.count, loss.min, loss.min_step, loss.max, loss.max_step) == (5, -7.5, 3, 9.0, 4)


def test_tracked_fields_survive_the_journal_and_old_records_still_read(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    step = engine.open("s")
    (tmp_path / "in.txt").write_text("x")
    with step.channel.active():
        yp.log_metric("loss", 1.0, context="training", unit="nats", source="torch")
        yp.log_param("lr", 0.5)
        yp.log_artifact(tmp_path / "in.txt", is_input=True, name="data")
    record = engine.record(step)
    engine.finish()
    assert from_json(to_json(record)) == record
    old = to_json(record)
    for name in ("metrics", "hyperparams", "artifacts", "tracking_missing"):
        del old[name]
    assert from_json(old) == StepRecord(
        **{
            **vars(record),
            "metrics": (),
            "hyperparams": {},
            "artifacts": (),
            "tracking_missing": {},
        }
    )


def test_each_attempt_gets_its_own_folder_and_the_layout_is_documented(tmp_path: Path) -> None:
    first = StepChannel.open(tmp_path, "job/1")
    second = StepChannel.open(tmp_path, "job/1")
    other = StepChannel.open(tmp_path, "job-1")  # the same safe name, another key
    assert len({first.folder, second.folder, other.folder}) == 3
    assert first.folder.parent == tmp_path / "tracking"
    assert first.folder.name.split(".")[0] == second.folder.name.split(".")[0]  # <key>.<random>
    assert first.env() == {"YPROV_STEP_DIR": str(first.folder)}
    assert (first.folder / "channel.json").is_file()


def test_a_lazy_channel_leaves_its_folder_to_the_first_process_that_logs(tmp_path: Path) -> None:
    channel = StepChannel.lazy(tmp_path, "job")
    env = channel.env()
    assert not (tmp_path / "tracking").exists(), "handing the folder over touches no file"
    child = (
        "import yprov_workflows as yp; yp.log_metric('loss', 0.5, step=0); yp.log_param('lr', 0.1)"
    )
    subprocess.run([sys.executable, "-c", child], env={**os.environ, **env}, check=True)
    folder = Path(env["YPROV_STEP_DIR"])
    assert json.loads((folder / "channel.json").read_text())["step_key"] == "job"
    tracked = channel.collect(FileHasher(), Redactor())
    assert [m.name for m in tracked.metrics] == ["loss"] and tracked.params == {"lr": 0.1}
    assert StepChannel.lazy(tmp_path, "quiet").collect(FileHasher(), Redactor()).metrics == ()


def test_names_that_are_not_file_names_get_their_own_files(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path)
    step = engine.open("s")
    with step.channel.active():
        yp.log_metric("val/loss", 1.0, context="k-fold 1")
        yp.log_metric("val-loss", 2.0, context="k-fold 1")
        yp.log_metric("val-loss", 3.0)
    record = engine.record(step)
    engine.finish()
    files = {(s.name, s.context): Path(s.file.path).name for s in record.metrics}
    assert len(set(files.values())) == 3
    assert files[("val-loss", None)] == "val-loss.csv"
    assert files[("val/loss", "k-fold 1")].startswith("val-loss~")
    assert {s.name: s.last for s in record.metrics if s.context} == {
        "val/loss": 1.0,
        "val-loss": 2.0,
    }


def _in_a_worker(channel: StepChannel, number: int) -> int:
    with channel.active():
        for i in range(50):
            yp.log_metric("loss", number + i / 100, step=i)
    return os.getpid()


def test_a_process_pool_worker_logs_through_a_pickled_channel(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    engine = MiniEngine(tmp_path)
    steps = [engine.open(f"task{i}") for i in range(3)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        pids = [pool.submit(_in_a_worker, s.channel, n).result() for n, s in enumerate(steps)]
        records = [engine.record(step) for step in steps]  # the worker is still alive
    engine.finish()
    assert len(set(pids)) == 1 and pids[0] != os.getpid()
    for number, record in enumerate(records):
        rows = points_of(engine.run_dir, record, "loss", None)
        assert [float(v) for _, v, _ in rows] == [number + i / 100 for i in range(50)]
