"""The sampler process: samples the gauges of every watched step at its own pace.

A thread inside a CPU-bound Python step starves on the GIL (a 10 Hz thread got 0.6-1.4 Hz, see
docs/usage.md), so gauges are sampled by this separate process, one per recording process, shared
by all the steps that process watches. It reads commands, one JSON object per line, on stdin:

    {"op": "watch", "id": ID, "roots": [PID, ...], "series": PATH or null, "series_after_s": S,
     "t0": the step's start, time.monotonic() of the recording process (the same clock)}
    {"op": "roots", "id": ID, "pids": [PID, ...]}      more root processes of the step
    {"op": "stop", "id": ID}                          answers one line: {"id": ID, "summary": {...}}

and exits at the end of its input (the recording process closed the pipe, or died). Each step is
sampled every 0.1 s in its first 2 s, every 0.25 s until 10 s, then every `tick` s (never slower
than the tick); one GPU reading serves every step due at the same moment. Nothing here raises out
of the loop: a command that cannot be served is answered with an empty summary and the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yprov_workflows.usage.nvml import Gpus, GpuSample
from yprov_workflows.usage.proctree import sample_tree
from yprov_workflows.usage.rapl import Rapl, host_busy_cpu_s
from yprov_workflows.usage.step_summary import Hardware, summarize
from yprov_workflows.usage.step_watch import (
    Counters,
    RaplAccount,
    SeriesFile,
    StepWatch,
    series_columns,
)


def interval(age_s: float, tick_s: float) -> float:
    """Seconds until a step of this age is sampled again: at most 0.1 s in its first 2 s and
    0.25 s until 10 s (short steps get samples too), then the tick."""
    if age_s < 2.0:
        return min(tick_s, 0.1)
    if age_s < 10.0:
        return min(tick_s, 0.25)
    return tick_s


class Sampler:
    """The watched steps and the hardware backends; driven by `serve` or, in tests, directly."""

    def __init__(
        self, tick_s: float, gpus: Gpus, rapl: Rapl, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self.hw = Hardware(gpus, rapl, tick_s)
        self.steps: dict[str, StepWatch] = {}
        self.me = os.getpid()

    def counters(self) -> Counters:
        return Counters(self.hw.gpus.energy_mj(), host_busy_cpu_s())

    def rapl_reading(self) -> dict[str, int | None]:
        return self.hw.rapl.read_uj() if self.hw.rapl.reason is None else {}

    def watch(
        self,
        step_id: str,
        roots: list[int],
        series: str | None,
        after_s: float,
        t0: float | None = None,
    ) -> None:
        now = self.clock()
        columns = series_columns(self.hw.gpus.devices)
        file = SeriesFile(Path(series), columns, after_s) if series else None
        rapl = RaplAccount(self.rapl_reading())
        step = StepWatch(min(t0 or now, now), self.counters(), file, rapl, arrived=now)
        step.roots.update(roots)
        self.steps[step_id] = step
        for other in self.steps.values():
            other.concurrent = max(other.concurrent, len(self.steps))
        self.sample([step], now)

    def stop(self, step_id: str) -> dict[str, Any]:
        step = self.steps.pop(step_id, None)
        if step is None:
            return {"missing": {"gauges": "the sampler never saw this step start"}}
        now = self.clock()
        self.sample([step], now)
        duration = now - step.t0
        series = step.series.finish(duration) if step.series else None
        summary = summarize(step, self.counters(), duration, self.hw)
        return summary.as_json(str(series) if series else None)

    def due(self, now: float) -> list[StepWatch]:
        return [s for s in self.steps.values() if s.next_due <= now]

    def sample(self, steps: list[StepWatch], now: float) -> None:
        """One GPU reading for all `steps`, then each step's own process tree."""
        gpus: list[GpuSample] = self.hw.gpus.sample()  # empty without GPUs; never raises
        rapl = self.rapl_reading()
        for step in steps:
            step.rapl.add(self.hw.rapl.zones, rapl)
            tree = sample_tree(step.roots - {self.me}) if step.roots else None
            step.observe(now, tree, gpus)
            step.next_due = now + interval(now - step.t0, self.hw.tick_s)

    def next_wake(self) -> float | None:
        return min((s.next_due for s in self.steps.values()), default=None)


def serve(sampler: Sampler, commands: int, answers: int) -> None:
    """The loop: wait for a command or the next due sample, whichever comes first."""
    pending = b""
    while True:
        wake = sampler.next_wake()
        timeout = None if wake is None else max(0.0, wake - sampler.clock())
        readable, _, _ = select.select([commands], [], [], timeout)
        if readable:
            chunk = os.read(commands, 65536)
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                _serve_one(sampler, line, answers)
        now = sampler.clock()
        due = sampler.due(now)
        if due:
            sampler.sample(due, now)


def _serve_one(sampler: Sampler, line: bytes, answers: int) -> None:
    try:
        command = json.loads(line)
        op, step_id = command["op"], str(command["id"])
        if op == "watch":
            series, after_s = command.get("series"), command.get("series_after_s", 0)
            sampler.watch(step_id, command["roots"], series, after_s, command.get("t0"))
        elif op == "roots" and step_id in sampler.steps:
            sampler.steps[step_id].roots.update(command["pids"])
        elif op == "stop":
            _answer(answers, {"id": step_id, "summary": sampler.stop(step_id)})
    except Exception as problem:  # one bad command must not end the sampling of the others
        if b'"stop"' in line:
            reason = f"the sampler failed: {type(problem).__name__}: {problem}"
            _answer(answers, {"id": _id_of(line), "summary": {"missing": {"gauges": reason}}})


def _id_of(line: bytes) -> str:
    try:
        return str(json.loads(line)["id"])
    except Exception:
        return ""


def _answer(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message, allow_nan=False) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between samples")
    args = parser.parse_args(argv)
    answers = os.dup(1)
    os.dup2(2, 1)  # a stray print (a backend's library) must not corrupt the answers
    gpus, rapl = Gpus.open(), Rapl.open()
    try:
        serve(Sampler(args.tick, gpus, rapl), commands=0, answers=answers)
    except KeyboardInterrupt:
        pass
    finally:
        gpus.close()


if __name__ == "__main__":
    main()
