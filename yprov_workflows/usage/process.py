"""Exact usage of child processes, read at the moment they are reaped.

`MeasuredPopen` is a `subprocess.Popen` that reaps its process with `wait4` instead of `waitpid`:
the rusage covers the process and every descendant it reaped (exact CPU time and the largest peak
RSS, short-lived children included). Just before reaping, while the process is a zombie, it reads
`/proc/<pid>/io`, whose counters include those of reaped descendants. No extra process is started.

The figures go to a `ThreadUsage` collector, to the list of the thread that reaped the process, so
concurrent steps in one process (Snakemake's worker threads) each get their own processes' usage.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

IO_FIELDS = {
    "read_bytes": "read_bytes",
    "write_bytes": "write_bytes",
    "rchar": "read_chars",
    "wchar": "written_chars",
}


@dataclass(frozen=True)
class ProcessUsage:
    """Exact usage of process trees, summed (peak RSS: the largest single process)."""

    cpu_user_s: float = 0.0
    cpu_system_s: float = 0.0
    max_rss_bytes: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    read_chars: int = 0
    written_chars: int = 0
    processes: int = 0

    def __add__(self, other: ProcessUsage) -> ProcessUsage:
        return ProcessUsage(
            cpu_user_s=self.cpu_user_s + other.cpu_user_s,
            cpu_system_s=self.cpu_system_s + other.cpu_system_s,
            max_rss_bytes=max(self.max_rss_bytes, other.max_rss_bytes),
            read_bytes=self.read_bytes + other.read_bytes,
            write_bytes=self.write_bytes + other.write_bytes,
            read_chars=self.read_chars + other.read_chars,
            written_chars=self.written_chars + other.written_chars,
            processes=self.processes + other.processes,
        )


def from_rusage(usage: object, io: dict[str, int]) -> ProcessUsage:
    """Usage of one reaped process tree from its rusage and its `/proc/<pid>/io` counters."""
    return ProcessUsage(
        cpu_user_s=float(getattr(usage, "ru_utime", 0.0)),
        cpu_system_s=float(getattr(usage, "ru_stime", 0.0)),
        max_rss_bytes=int(getattr(usage, "ru_maxrss", 0)) * 1024,
        processes=1,
        **{ours: io.get(theirs, 0) for theirs, ours in IO_FIELDS.items()},
    )


def read_io(pid: int) -> dict[str, int]:
    """The IO counters of a live or zombie process; empty where /proc is not readable."""
    try:
        with open(f"/proc/{pid}/io", "rb") as handle:
            pairs = (line.split(b":", 1) for line in handle.read().splitlines())
            return {k.decode(): int(v) for k, v in pairs if k.decode() in IO_FIELDS}
    except (OSError, ValueError):
        return {}


def reap(pid: int, flags: int) -> tuple[int, int, ProcessUsage | None]:
    """`waitpid(pid, flags)` that also returns the usage of the process tree it reaped."""
    try:
        exited = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | (flags & os.WNOHANG))
    except ChildProcessError:
        exited = None
        flags &= ~os.WNOHANG  # let wait4 raise the same error below
    if exited is None and flags & os.WNOHANG:
        return 0, 0, None
    io = read_io(pid)
    reaped, status, usage = os.wait4(pid, flags)
    return reaped, status, from_rusage(usage, io) if reaped == pid else None


class ThreadUsage:
    """Collects the usage of processes each thread reaps while it is `collecting()`, and tells
    the thread's `on_spawn` callback (the sampler's watch) about each process it starts."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def collecting(
        self, on_spawn: Callable[[int], None] | None = None
    ) -> Iterator[list[ProcessUsage]]:
        found: list[ProcessUsage] = []
        previous = getattr(self._local, "found", None), getattr(self._local, "on_spawn", None)
        self._local.found, self._local.on_spawn = found, on_spawn
        try:
            yield found
        finally:
            self._local.found, self._local.on_spawn = previous

    def report(self, usage: ProcessUsage) -> None:
        found: list[ProcessUsage] | None = getattr(self._local, "found", None)
        if found is not None:
            found.append(usage)

    def spawned(self, pid: int) -> None:
        on_spawn: Callable[[int], None] | None = getattr(self._local, "on_spawn", None)
        if on_spawn is not None:
            on_spawn(pid)

    def popen_class(self) -> type[subprocess.Popen[bytes]]:
        """A Popen whose reaping reports to this collector."""
        return _measured_popen(self)


def _measured_popen(collector: ThreadUsage) -> type[subprocess.Popen[bytes]]:
    class MeasuredPopen(subprocess.Popen[bytes]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            collector.spawned(self.pid)

        # Overrides CPython's private POSIX hook (3.11-3.14, called under _waitpid_lock);
        # tests/core/test_process_usage.py fails loudly if it ever stops being called.
        def _try_wait(self, wait_flags: int) -> tuple[int, int]:
            try:
                pid, status, usage = reap(self.pid, wait_flags)
            except ChildProcessError:
                return self.pid, 0  # as CPython: the status is lost when SIGCHLD is ignored
            if usage is not None:
                collector.report(usage)
            return pid, status

    return MeasuredPopen
