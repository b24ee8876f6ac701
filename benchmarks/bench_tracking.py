"""In-step tracking: the cost of `log_metric` and `log_param`, and what a million points cost.

Part 1, calls (in this process, a step channel active as an engine makes it):

* `log_metric("loss", value, step=i, context="training")`, timed per batch of 1,000 calls, against
  the floor measured in the same run and interleaved with it: a Python function of the same
  signature that appends the same tuple to a list. Target: median <= 2 microseconds per call
  (yProv4ML 3.2.8: 4-12 on the 2-core VM, docs/design yprov4ml.md).
* `log_param(name, value)` with a new name per call, per batch of 100. Target: median <= 20
  microseconds (yProv4ML: 70-120).

Part 2, size (each case in its own subprocess, so that its peak RSS is its own): a run with one
step that logs N points of one series (N = 10, the baseline, and 1,000,000; 100,000 with
`--quick`), collects it and assembles the document. Reported: the document's size, the time of
`assemble(run_dir)` (median of repeated assemblies), the time to log the points and to collect
them, and the worker's peak RSS. Targets: document size and assembly time within 10 % of the
10-point run; peak RSS grows by less than 16 MiB (the points never all sit in memory).

Usage: python benchmarks/bench_tracking.py [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _util import median, parse_args, print_table, spread, verdict

import yprov_workflows as yp
from yprov_workflows.assemble import assemble
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Agents, RunStart, StepRecord, Usage
from yprov_workflows.settings import Settings
from yprov_workflows.tracking import StepChannel

METRIC_TARGET_US = 2.0
PARAM_TARGET_US = 20.0
SIZE_TARGET = 1.10
RSS_TARGET_MIB = 16.0
BATCH = 1_000

# -- part 1: calls ---------------------------------------------------------------------------------


def floor_batch(sink: list[Any], batch: int) -> float:
    def log(
        name: str, value: float, step: int | None = None, *, context: str | None = None
    ) -> None:
        sink.append((step, value, time.time()))

    t0 = time.perf_counter_ns()
    for i in range(batch):
        log("loss", 0.5, step=i, context="training")
    elapsed = (time.perf_counter_ns() - t0) / batch / 1000
    sink.clear()
    return elapsed


def metric_batch(batch: int) -> float:
    t0 = time.perf_counter_ns()
    for i in range(batch):
        yp.log_metric("loss", 0.5, step=i, context="training")
    return (time.perf_counter_ns() - t0) / batch / 1000


def param_batch(start: int, batch: int) -> float:
    names = [f"param_{start + i}" for i in range(batch)]
    t0 = time.perf_counter_ns()
    for name in names:
        yp.log_param(name, 0.01)
    return (time.perf_counter_ns() - t0) / batch / 1000


def calls(reps: int) -> None:
    floor: list[float] = []
    metric: list[float] = []
    param: list[float] = []
    with tempfile.TemporaryDirectory(prefix="yprov-bench-track-") as tmp:
        channel = StepChannel.open(Path(tmp), "bench")
        with channel.active():
            metric_batch(BATCH)  # the series exists, the flusher runs
            sink: list[Any] = []
            for rep in range(reps):
                floor.append(floor_batch(sink, BATCH))
                metric.append(metric_batch(BATCH))
                param.append(param_batch(rep * 100, 100))
    rows = [
        ["floor: append to a list", len(floor), median(floor), spread(floor)],
        ["log_metric", len(metric), median(metric), spread(metric)],
        ["log_param", len(param), median(param), spread(param)],
    ]
    print_table(["call", "batches", "median us/call", "min..max us/call"], rows)
    print(f"log_metric over the floor: {median(metric) / median(floor):.2f}x")
    print(f"log_metric median: {verdict(median(metric), METRIC_TARGET_US, at_most=True)} us")
    print(f"log_param median:  {verdict(median(param), PARAM_TARGET_US, at_most=True)} us")


# -- part 2: size ----------------------------------------------------------------------------------


def worker(points: int, folder: Path, assemblies: int) -> dict[str, float]:
    recorder = Recorder(Settings(), folder)
    agents = Agents("bench", "bench", "1", "0")
    started = datetime.now(UTC)
    recorder.start(RunStart(f"points-{points}", started, agents))
    assert recorder.run_dir is not None
    channel = StepChannel.open(recorder.run_dir, "train")
    t0 = time.perf_counter()
    with channel.active():
        for i in range(points):
            yp.log_metric("loss", 1.0 / (i + 1), step=i, context="training")
    t1 = time.perf_counter()
    tracked = channel.collect(recorder.hasher, recorder.redactor)
    t2 = time.perf_counter()
    step = StepRecord(
        recorder.run_dir.name,
        "train",
        "train",
        1,
        started,
        datetime.now(UTC),
        "completed",
        usage=Usage({}, "unmeasured"),
    )
    recorder.record_step(tracked.apply(step))
    document = recorder.finish("completed")
    assert document is not None
    timings = []
    for _ in range(assemblies):
        t3 = time.perf_counter()
        assemble(recorder.run_dir)
        timings.append(time.perf_counter() - t3)
    return {
        "log_s": t1 - t0,
        "collect_s": t2 - t1,
        "assemble_ms": median(timings) * 1000,
        "doc_bytes": document.stat().st_size,
        "count": tracked.metrics[0].count,
        "series_mb": (tracked.metrics[0].file.size or 0) / 1e6,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_worker(points: int, assemblies: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="yprov-bench-track-") as tmp:
        command = [sys.executable, __file__, "--worker", str(points), tmp, str(assemblies)]
        out = subprocess.run(command, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"  ! worker {points} exited {out.returncode}: {out.stderr[-500:]}", flush=True)
            return {}
        result: dict[str, float] = json.loads(out.stdout)
        return result


def size(big: int, reps: int, assemblies: int) -> None:
    cases = (10, big)
    results: dict[int, list[dict[str, float]]] = {n: [] for n in cases}
    for rep in range(reps):
        for n in cases:
            found = run_worker(n, assemblies)
            if found:
                results[n].append(found)
                print(f"  rep {rep + 1}/{reps} {n:>9,} points  {found}", flush=True)
    rows = [[f"{n:,}", *(median([r[k] for r in results[n]]) for k in COLUMNS)] for n in cases]
    print_table(["points", *COLUMNS], rows)
    small, large = ({k: median([r[k] for r in results[n]]) for k in COLUMNS} for n in cases)
    ratio = large["doc_bytes"] / small["doc_bytes"]
    print(f"document size {big:,} / 10 points: {verdict(ratio, SIZE_TARGET, at_most=True)}")
    ratio = large["assemble_ms"] / small["assemble_ms"]
    print(f"assembly time {big:,} / 10 points: {verdict(ratio, SIZE_TARGET, at_most=True)}")
    growth = large["rss_mib"] - small["rss_mib"]
    print(f"peak RSS growth: {verdict(growth, RSS_TARGET_MIB, at_most=True)} MiB")
    print(
        f"log_metric in a loop of {big:,}: {large['log_s'] / big * 1e6:.2f} us/point with flushes"
    )


COLUMNS = ("log_s", "collect_s", "assemble_ms", "doc_bytes", "series_mb", "rss_mib")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        result = worker(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        print(json.dumps(result))
        return
    args = parse_args(__doc__.splitlines()[0])
    print("part 1: calls inside an active step")
    calls(reps=30 if args.quick else 200)
    print("\npart 2: one step with many points, each case in its own process")
    size(100_000 if args.quick else 1_000_000, reps=1 if args.quick else 3, assemblies=50)


if __name__ == "__main__":
    os.environ.pop("YPROV_STEP_DIR", None)
    main()
