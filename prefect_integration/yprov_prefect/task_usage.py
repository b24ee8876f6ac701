"""Measure one task-run attempt, honest about what it shares with others in its process.

Exact counters come from the task's thread (`RUSAGE_THREAD`, its IO). What a task shares depends
on where it ran:

* alone in a worker process (a process pool or Dask worker running one task at a time): its CPU is
  its thread plus the child processes it reaped, its peak RSS that of the process (reset at the
  start) or of its largest child;
* alone in the flow's process: CPU as above; memory is the flow process's, shared;
* next to other tasks in one process: only the thread's CPU and IO are its own;
* next to other tasks in one thread (async tasks interleaved on one event loop, or a task called
  inside another): not even the thread's CPU and IO are its own; they are kept, as the thread's
  (`thread_cpu_total_s`, ...), and never summed as the task's.

The sampler adds gauges (the process tree), GPU and energy figures (see `yprov_workflows.usage`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from yprov_prefect import session
from yprov_workflows.environment import process_id
from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import Usage
from yprov_workflows.settings import Settings
from yprov_workflows.usage.combine import with_sampled
from yprov_workflows.usage.process import IO_FIELDS
from yprov_workflows.usage.thread import Sample, ThreadMeter, peak_rss_bytes, reset_peak_rss
from yprov_workflows.usage.watch import Collect, Guard, SeriesPlan, Watch
from yprov_workflows.values import Value

CHILDREN = ("children_cpu_user_s", "children_cpu_system_s", "children_cpu_total_s")
THREAD = ("cpu_user_s", "cpu_system_s", "cpu_total_s", *IO_FIELDS.values())


@dataclass
class TaskMeasure:
    """Started before the body, stopped after it."""

    ticket: session.Ticket
    own_process: bool
    meter: ThreadMeter
    watch: Watch
    t0: float

    @classmethod
    def start(
        cls,
        watch_id: str,
        series: SeriesPlan | None,
        config: Settings,
        flow: session.FlowRecording | None,
        caller: bool = False,
    ) -> TaskMeasure:
        """`flow`: the flow run recorded in this process, None in a worker (`session.here`);
        `caller`: the process is the one that called the task outside any flow (a script's),
        which the task shares with it, as a flow's process."""
        ticket = session.ACTIVE.enter()
        try:
            own = flow is None and not caller and ticket.alone and reset_peak_rss()
            if flow is not None:  # the flow's process: the run's sampler client, guard and pid
                monitor, guard, pid = flow.monitor, flow.guard, flow.pid
            else:  # a worker process: its own sampler client, a guard for this task
                monitor, guard = session.monitor(config, None), _worker_guard(config)
                pid = process_id()
            watch = Watch(monitor, watch_id, guard, series)
            watch.start([pid])
        except BaseException:
            session.ACTIVE.leave(ticket)  # else every later task here would count it as running
            raise
        return cls(ticket, own, ThreadMeter(), watch, time.monotonic())

    def stop_later(self, hasher: FileHasher) -> Callable[[], Usage]:
        """Read the counters now; the returned function works out the figures (later, in the
        journal's batch writer: see `yprov_workflows.batched`). A step with a child process
        or its process to itself is worked out now: that reads the process's peak RSS."""
        end = self.meter.end()
        overlaps = session.ACTIVE.leave(self.ticket)
        sampled = self.watch.stop_later(time.monotonic() - self.t0)
        own = self.own_process and overlaps.process == 0
        usage = functools.partial(self._usage, end, overlaps, own, sampled, hasher)
        if own or self.meter.had_children(end):
            figured = usage()
            return lambda: figured
        return usage

    def _usage(
        self,
        end: Sample,
        overlaps: session.Overlaps,
        own: bool,
        sampled: Collect,
        hasher: FileHasher,
    ) -> Usage:
        """The figures; a step that reached the sampler waits for its summary here (in the
        batch writer, for most: the task's thread does not)."""
        summary, series = sampled(hasher)
        return with_sampled(_usage(self.meter.figures(end), overlaps, own), summary, series)


def _worker_guard(config: Settings) -> Guard:
    """Sampling failures of a task in a worker process, reported there (in the flow's process
    the run's own guard, `FlowRecording.guard`, reports them to the flow run)."""
    return functools.partial(session.guarded, config=config)


def _usage(figures: dict[str, int | float], overlaps: session.Overlaps, own_process: bool) -> Usage:
    values: dict[str, Value] = dict(figures)
    if overlaps.process:
        for name in (*CHILDREN, "children_max_rss_bytes"):
            values.pop(name, None)
        if overlaps.thread:
            return _shared_thread(values, overlaps.thread)
        return Usage(values, "rusage_thread", _SHARED)
    for own, child in zip(("cpu_user_s", "cpu_system_s", "cpu_total_s"), CHILDREN, strict=True):
        values[own] = round(float(figures[own]) + float(figures[child]), 6)
    missing = _inherited_children_peak(values)
    if not own_process:
        return Usage(values, "rusage_thread+children", _IN_FLOW, missing=missing)
    peak = max(peak_rss_bytes() or 0, int(values.get("children_max_rss_bytes", 0)))
    values["max_rss_bytes"] = peak
    return Usage(values, "rusage_thread+children", _OWN, missing=missing)


def _shared_thread(values: dict[str, Value], others: int) -> Usage:
    """Other tasks ran on this task's thread meanwhile: its figures are the thread's, renamed
    (`thread_cpu_total_s`, ...) so that no sum (run totals, CPU energy share) counts them as the
    task's own, once per task that shared the thread."""
    for name in THREAD:
        if name in values:
            values[f"thread_{name}"] = values.pop(name)
    values["thread_other_tasks"] = others
    note = (
        f"shared: {others} other task(s) ran on this task's thread meanwhile (async tasks on one "
        "event loop, or a task called inside another): thread_cpu_* and the thread_* IO figures "
        "are the thread's over the task's time, not this task's own; process_* are the process's"
    )
    unattributed = {"cpu_energy_attributed": "no CPU time of its own to attribute energy by"}
    return Usage(values, "rusage_thread_shared", note, missing=unattributed)


def _inherited_children_peak(values: dict[str, Value]) -> dict[str, str]:
    """Drop a children's peak RSS that may be only the pages they inherited from this process.

    Linux counts what a child inherits from its parent before `exec` in the child's peak RSS, so
    a child's figure up to the parent's own peak (VmHWM: what a child forked from it can have
    inherited) may be the parent's pages (a task that ran `echo` from a 150 MiB flow process would
    show 150 MiB). Above it, the figure is the child's own."""
    child = values.get("children_max_rss_bytes")
    if not isinstance(child, int):
        return {}  # the common case: no child process, no /proc read
    parent = peak_rss_bytes()
    if parent is None or child > parent:
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
    "the task ran alone in the flow's process (or the process that called it outside a flow): "
    "CPU is its thread plus the child processes it reaped; memory (process_max_rss_bytes) is "
    "that process's, shared"
)
_OWN = (
    "the task had its worker process to itself: CPU is its thread plus the child processes it "
    "reaped (process_cpu_total_s: the whole process, engine threads included); max_rss_bytes is "
    "the larger of the process's peak (VmHWM reset at the start) and its largest child's"
)
