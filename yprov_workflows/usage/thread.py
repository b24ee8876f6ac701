"""Usage of one step that runs in a thread of a shared process (a Prefect task in a thread pool).

CPU comes from `RUSAGE_THREAD` (this thread only: exact), IO from `/proc/self/task/<tid>/io`.
Memory is a process quantity: the process's peak RSS is reported and marked as shared unless the
step had the process to itself.
"""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass

from yprov_workflows.usage.process import IO_FIELDS


def _thread_io(tid: int) -> dict[str, int]:
    try:  # os-level calls: the fewest system calls, each a GIL hand-off in a busy process
        fd = os.open(f"/proc/self/task/{tid}/io", os.O_RDONLY)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
        pairs = (line.split(b":", 1) for line in data.splitlines())
        return {k.decode(): int(v) for k, v in pairs if k.decode() in IO_FIELDS}
    except (OSError, ValueError):
        return {}


@dataclass(frozen=True)
class _Sample:
    user: float
    system: float
    io: dict[str, int]


def _sample(tid: int) -> _Sample:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return _Sample(usage.ru_utime, usage.ru_stime, _thread_io(tid))


class ThreadMeter:
    """Measures the calling thread between `__init__` and `stop()`."""

    def __init__(self) -> None:
        self.tid = threading.get_native_id()
        self._start = _sample(self.tid)

    def stop(self) -> dict[str, int | float]:
        end = _sample(self.tid)
        figures: dict[str, int | float] = {
            "cpu_user_s": round(end.user - self._start.user, 6),
            "cpu_system_s": round(end.system - self._start.system, 6),
        }
        figures["cpu_total_s"] = round(figures["cpu_user_s"] + figures["cpu_system_s"], 6)
        for theirs, ours in IO_FIELDS.items():
            if theirs in end.io:
                figures[ours] = end.io[theirs] - self._start.io.get(theirs, 0)
        figures["process_max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return figures


def reset_peak_rss() -> bool:
    """Restart the process's peak-RSS mark (Linux `clear_refs` 5); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int | None:
    """The process's peak RSS since start or the last `reset_peak_rss` (VmHWM)."""
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
