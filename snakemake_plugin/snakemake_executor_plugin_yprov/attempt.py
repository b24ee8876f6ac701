"""What we learn about one job attempt while it runs, before Snakemake says how it ended."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime

from yprov_workflows.recorder import utcnow
from yprov_workflows.records import FileRecord, Usage
from yprov_workflows.tracking import StepChannel
from yprov_workflows.usage.combine import with_sampled
from yprov_workflows.usage.monitor import Sampled
from yprov_workflows.usage.process import ProcessUsage


@dataclass
class Attempt:
    """Mutable while the job runs; read once when Snakemake reports success or failure."""

    started: datetime
    inputs: tuple[FileRecord, ...] = ()
    outputs: tuple[FileRecord, ...] = ()
    logs: tuple[FileRecord, ...] = ()
    benchmarks: tuple[FileRecord, ...] = ()
    ended: datetime | None = None
    in_thread: bool = False
    thread_cpu_s: float = 0.0
    spawned: bool = False
    reaped: ProcessUsage | None = None
    error: str | None = None
    exit_code: int | None = None
    unreported: bool = False
    sampled: Sampled | None = None
    series: FileRecord | None = None
    pid: int = field(default_factory=os.getpid)
    thread: int = field(default_factory=threading.get_native_id)
    channel: StepChannel | None = None  # what the job's code logs (`yprov_workflows.tracking`)

    def verdict(self) -> dict[str, str | int | float | bool]:
        """Marks an attempt whose end Snakemake never reported (the run stopped first)."""
        return (
            {"snakemake_verdict": "not reported: the run stopped first"} if self.unreported else {}
        )

    def finish(self, thread_cpu_s: float, reaped: list[ProcessUsage]) -> None:
        """The job's worker is done: note the end, its thread's CPU and the processes it reaped."""
        self.ended = utcnow()
        self.thread_cpu_s = thread_cpu_s
        self.reaped = sum(reaped, ProcessUsage()) if reaped else None

    def wall_s(self) -> float:
        return ((self.ended or utcnow()) - self.started).total_seconds()

    def usage(self, has_action: bool = True) -> Usage:
        """The exact counters joined with what the sampler saw."""
        usage = self._counted(has_action)
        if self.sampled is None or not has_action:
            return usage
        return with_sampled(usage, self.sampled, self.series)

    def _counted(self, has_action: bool) -> Usage:
        """Summarise what was measured, naming the source of the figures."""
        wall = (self.ended - self.started).total_seconds() if self.ended else None
        total = self.reaped
        figures: dict[str, int | float | str | bool] = {}
        if wall is not None:
            figures["wall_s"] = round(wall, 6)
        if not has_action:
            return Usage(figures, "none", "the rule has no action: nothing ran")
        if total is None and not self.in_thread:
            return Usage(figures, "unmeasured", "the job started no measured process")
        total = total or ProcessUsage()
        user = total.cpu_user_s + (self.thread_cpu_s if self.in_thread else 0.0)
        figures.update(_figures(total, user))
        return Usage(figures, _source(self), _note(self))


def _figures(total: ProcessUsage, user_s: float) -> dict[str, int | float | str | bool]:
    return {
        "cpu_user_s": round(user_s, 6),
        "cpu_system_s": round(total.cpu_system_s, 6),
        "cpu_total_s": round(user_s + total.cpu_system_s, 6),
        "max_rss_bytes": total.max_rss_bytes,
        "read_bytes": total.read_bytes,
        "write_bytes": total.write_bytes,
        "read_chars": total.read_chars,
        "written_chars": total.written_chars,
        "processes": total.processes,
    }


def _source(attempt: Attempt) -> str:
    return "wait4+thread_time" if attempt.in_thread else "wait4"


def _note(attempt: Attempt) -> str | None:
    if attempt.spawned:
        return (
            "the job ran in its own Snakemake process (as Snakemake runs `run:` and shadowed "
            "jobs): CPU and memory include that process's start-up"
        )
    if attempt.in_thread:
        return "run: code ran in a Snakemake thread: its CPU is thread_time, memory is not its own"
    return None
