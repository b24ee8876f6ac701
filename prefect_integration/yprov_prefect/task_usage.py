"""Measure one task-run attempt, honest about what it shares with others in its process.

Exact counters come from the task's thread (`RUSAGE_THREAD`, its IO). What a task shares depends
on where it ran:

* alone in a worker process (a process pool or Dask worker running one task at a time): its CPU is
  its thread plus the child processes it reaped, its peak RSS that of the process (reset at the
  start) or of its largest child;
* alone in the flow's process: CPU as above; memory is the flow process's, shared;
* next to other tasks in one process: only the thread's CPU and IO are its own.

The sampler adds gauges (the process tree), GPU and energy figures (see `yprov_workflows.usage`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from yprov_prefect import session
from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import Usage
from yprov_workflows.settings import Settings
from yprov_workflows.usage.combine import with_sampled
from yprov_workflows.usage.thread import ThreadMeter, peak_rss_bytes, reset_peak_rss
from yprov_workflows.usage.watch import Guard, SeriesPlan, Watch
from yprov_workflows.values import Value

CHILDREN = ("children_cpu_user_s", "children_cpu_system_s", "children_cpu_total_s")


@dataclass
class TaskMeasure:
    """Started before the body, stopped after it."""

    ticket: int
    own_process: bool
    meter: ThreadMeter
    watch: Watch
    t0: float

    @classmethod
    def start(cls, watch_id: str, series: SeriesPlan | None, config: Settings) -> TaskMeasure:
        ticket = session.ACTIVE.enter()
        own = ticket != 0 and not session.in_flow_process() and reset_peak_rss()
        watch = Watch(session.monitor(config), watch_id, _guard(config), series)
        watch.start([os.getpid()])
        return cls(ticket, own, ThreadMeter(), watch, time.monotonic())

    def stop(self, hasher: FileHasher) -> Usage:
        figures = self.meter.stop()
        alone = session.ACTIVE.leave(self.ticket)
        usage = _usage(figures, alone, self.own_process and alone)
        sampled, series = self.watch.stop(time.monotonic() - self.t0, hasher)
        return with_sampled(usage, sampled, series)


def _guard(config: Settings) -> Guard:
    return lambda what: session.guarded(what, config)


def _usage(figures: dict[str, int | float], alone: bool, own_process: bool) -> Usage:
    values: dict[str, Value] = dict(figures)
    if not alone:
        for name in (*CHILDREN, "children_max_rss_bytes"):
            values.pop(name, None)
        return Usage(values, "rusage_thread", _SHARED)
    for own, child in zip(("cpu_user_s", "cpu_system_s", "cpu_total_s"), CHILDREN, strict=True):
        values[own] = round(float(figures[own]) + float(figures[child]), 6)
    missing = _inherited_children_peak(values)
    if not own_process:
        return Usage(values, "rusage_thread+children", _IN_FLOW, missing=missing)
    peak = max(peak_rss_bytes() or 0, int(values.get("children_max_rss_bytes", 0)))
    values["max_rss_bytes"] = peak
    return Usage(values, "rusage_thread+children", _OWN, missing=missing)


def _inherited_children_peak(values: dict[str, Value]) -> dict[str, str]:
    """Drop a children's peak RSS that may be only the pages they inherited from this process.

    Linux counts what a child inherits from its parent before `exec` in the child's peak RSS, so
    a child's figure up to the parent's own peak (VmHWM: what a child forked from it can have
    inherited) may be the parent's pages (a task that ran `echo` from a 150 MiB flow process would
    show 150 MiB). Above it, the figure is the child's own."""
    child, parent = values.get("children_max_rss_bytes"), peak_rss_bytes()
    if not isinstance(child, int) or parent is None or child > parent:
        return {}
    del values["children_max_rss_bytes"]
    return {
        "children_max_rss": f"each child counts, until it calls exec, the pages of the "
        f"{parent / 2**20:.0f} MiB process that started it; no child's peak was above that"
    }


_SHARED = (
    "process shared with other tasks that ran meanwhile: CPU and IO are this task's own thread; "
    "memory (process_max_rss_bytes) and child processes are the process's, not attributable"
)
_IN_FLOW = (
    "the task ran alone in the flow's process: CPU is its thread plus the child processes it "
    "reaped; memory (process_max_rss_bytes) is the flow process's, shared"
)
_OWN = (
    "the task had its worker process to itself: CPU is its thread plus the child processes it "
    "reaped (process_cpu_total_s: the whole process, engine threads included); max_rss_bytes is "
    "the larger of the process's peak (VmHWM reset at the start) and its largest child's"
)
