"""Usage of one step that runs in a thread of a shared process (a Prefect task in a thread pool).

CPU comes from `RUSAGE_THREAD` (this thread only: exact), IO from `/proc/thread-self/io`.
Memory is a process quantity: the process's peak RSS is reported and marked as shared unless the
step had the process to itself.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import threading
from typing import Any, NamedTuple

from yprov_workflows.usage.process import IO_FIELDS


class _IoFile:
    """This thread's `/proc/thread-self/io`, opened once: each read (`_thread_io`) is one `pread`,
    made with the GIL held (`_pread_holding_gil`): `os.pread` lets the GIL go, and with Prefect's
    busy threads taking it the read cost about 150 us instead of 2. Its arguments are made once
    (a ctypes call that converts them costs microseconds more in a task's thread, whose caches
    Prefect's code left cold). Closed when the thread ends (its thread-local storage is dropped)
    and, in a forked child, forgotten at the fork (`_forget_io_file`): the child must not read
    its parent's thread."""

    def __init__(self) -> None:
        self.fd = os.open("/proc/thread-self/io", os.O_RDONLY)
        self.buffer = ctypes.create_string_buffer(_IO_SIZE)
        self.arguments = (ctypes.c_int(self.fd), self.buffer, _IO_SIZE_ARG, _OFFSET_0)

    def __del__(self) -> None:
        os.close(self.fd)


_IO_SIZE = 4096
_IO_SIZE_ARG, _OFFSET_0 = ctypes.c_size_t(_IO_SIZE), ctypes.c_long(0)


def _pread_holding_gil() -> Any:
    """libc's `pread` called through `ctypes.PyDLL`, which keeps the GIL (None without libc)."""
    try:
        pread = ctypes.PyDLL(None, use_errno=True).pread
    except (OSError, AttributeError):
        return None
    pread.restype = ctypes.c_ssize_t  # no `argtypes`: `_IoFile` passes ctypes objects
    return pread


_PREAD = _pread_holding_gil()
_local = threading.local()


def _forget_io_file() -> None:
    """In a forked child (only the forking thread lives on): its thread's file is the parent's."""
    _local.io_file = None


os.register_at_fork(after_in_child=_forget_io_file)
_IO_NAMES = {theirs.encode() + b":": ours for theirs, ours in IO_FIELDS.items()}


def _thread_io() -> bytes:
    """This thread's `/proc/thread-self/io` as read (parsed only at the end, `_io_counts`);
    empty where it cannot be read. One function, no method call: it runs twice per task."""
    try:
        io_file = getattr(_local, "io_file", None)
        if io_file is None:
            io_file = _local.io_file = _IoFile()
        if _PREAD is None:
            return os.pread(io_file.fd, _IO_SIZE, 0)
        size = _PREAD(*io_file.arguments)
        if size < 0:
            raise OSError(ctypes.get_errno(), "pread of /proc/thread-self/io failed")
        return io_file.buffer.raw[:size]  # `ctypes.string_at` is a Python function: a call more
    except OSError:
        return b""


def _io_counts(text: bytes) -> dict[str, int]:
    """Our names of the IO counters in a `/proc/.../io` text (`name: value` lines), with their
    values, in the order of `IO_FIELDS`; a value that is not a whole number is skipped."""
    words = text.split()
    found = dict(zip(words[::2], words[1::2], strict=False))
    return {
        ours: int(found[theirs])
        for theirs, ours in _IO_NAMES.items()
        if theirs in found and found[theirs].isdigit()
    }


def _seconds(value: float) -> float:
    """A difference of `getrusage` times (whole microseconds) rounded to them: what
    `round(value, 6)` gives, without its decimal conversion (a step reads seven of them)."""
    return round(value * 1e6) / 1e6


class Sample(NamedTuple):
    thread: resource.struct_rusage
    process: resource.struct_rusage
    children: resource.struct_rusage
    io: bytes


def _sample() -> Sample:
    return _new_sample(
        (
            resource.getrusage(resource.RUSAGE_THREAD),
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
            _thread_io(),
        )
    )


# A `Sample` made as `Sample._make` makes it, without the Python-level `__new__` of a named
# tuple (a call per sample, two samples per task).
_new_sample = functools.partial(tuple.__new__, Sample)


class ThreadMeter:
    """Measures the calling thread between `__init__` and `end()`, and, for the caller to use
    when the step had the process to itself, the whole process and the children it reaped."""

    def __init__(self) -> None:
        self._start = _sample()

    def process_cpu_s(self) -> float:
        """CPU seconds of the process and its reaped children at the start (as
        `yprov_workflows.tracking.system.process_cpu_s` reads them)."""
        own, children = self._start.process, self._start.children
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def end(self) -> Sample:
        """The counters at the end (read now); `figures` works them out, now or later."""
        return _sample()

    def figures(self, end: Sample) -> dict[str, int | float]:
        start = self._start
        figures = _cpu_figures(_OWN, start.thread, end.thread)
        if end.io:
            before, after = _io_counts(start.io), _io_counts(end.io)
            for name, value in after.items():
                figures[name] = value - before.get(name, 0)
            if "read_chars" in figures:  # not the start's own read of the counters
                figures["read_chars"] = int(figures["read_chars"]) - len(start.io)
        figures.update(_cpu_figures(_CHILDREN, start.children, end.children))
        process0, process1 = start.process, end.process
        process = process1.ru_utime - process0.ru_utime + process1.ru_stime - process0.ru_stime
        figures["process_cpu_total_s"] = _seconds(process)
        figures["process_max_rss_bytes"] = process1.ru_maxrss * 1024
        if self.had_children(end):
            figures["children_max_rss_bytes"] = end.children.ru_maxrss * 1024
        return figures

    def had_children(self, end: Sample) -> bool:
        """Whether the largest child reaped grew during the step (a child of the step)."""
        return end.children.ru_maxrss > self._start.children.ru_maxrss


_OWN = ("cpu_user_s", "cpu_system_s", "cpu_total_s")
_CHILDREN = ("children_cpu_user_s", "children_cpu_system_s", "children_cpu_total_s")


def _cpu_figures(
    names: tuple[str, str, str], before: resource.struct_rusage, after: resource.struct_rusage
) -> dict[str, int | float]:
    """User, system and total CPU seconds between two `getrusage` readings, under `names`."""
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {names[0]: _seconds(user), names[1]: _seconds(system), names[2]: _seconds(user + system)}


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
