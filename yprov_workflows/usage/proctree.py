"""Gauges of one step's own process tree (RSS, CPU), read cheaply from `/proc`.

The tree is found from its roots downwards through `/proc/<pid>/task/<tid>/children` (Linux >= 3.5
with `CONFIG_PROC_CHILDREN`): a few small reads per process of the tree, never a scan of every
process on the host (which `psutil.Process.children(recursive=True)` does). Every thread's file is
read because a child is listed under the thread that forked it. Where the kernel has no children
files, `tree_pids` falls back to reading the parent pid of every process, once per call.

Files are read with `os.open`/`os.read` (no Python file objects). A process that exits between two
reads is skipped, never an exception. Zombies (exited, not yet reaped) still belong to the tree:
their CPU counters move into their parent's `cutime`/`cstime` only when they are reaped, so keeping
them avoids a dip in the tree's CPU total.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

PROC = Path("/proc")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READ_SIZE = 4096  # a stat file is about 300 bytes; a children file grows 7 bytes per child
# Fields of /proc/<pid>/stat counted from the one after the command name (field 3, the state).
PPID, UTIME, CSTIME = 1, 11, 14  # fields 4 and 14..17 (utime, stime, cutime, cstime)

# Children of a pid; None when the pid is not alive (it is then left out of the tree).
ChildrenOf: TypeAlias = Callable[[int], list[int] | None]


@dataclass(frozen=True)
class TreeSample:
    """One reading of a process tree's gauges."""

    t: float  # time.monotonic() when read
    pids: tuple[int, ...]
    rss_bytes: int  # sum of the resident set sizes of the live processes
    cpu_s: float  # CPU (user + system) of the tree so far, children it reaped included
    processes: int


def tree_pids(roots: Iterable[int], proc: Path = PROC) -> list[int]:
    """The live roots and all their live descendants: roots first, no duplicates.

    Found through every thread's children file; without them (old kernel, `CONFIG_PROC_CHILDREN`
    off), through one read of the parent pid of every process on the host.
    """
    base = os.fspath(proc)
    start = list(dict.fromkeys(roots))
    if _has_children_files(base, start):
        return _walk(start, lambda pid: _children(base, pid))
    return _walk(start, _children_from_ppids(base))


def sample_tree(roots: Iterable[int], proc: Path = PROC) -> TreeSample | None:
    """RSS and CPU of the tree under `roots`; None when no process of it could be read."""
    base = os.fspath(proc)
    live = {pid: g for pid in tree_pids(roots, proc) if (g := _gauges(base, pid)) is not None}
    if not live:
        return None
    return TreeSample(
        t=time.monotonic(),
        pids=tuple(live),
        rss_bytes=sum(rss for rss, _ in live.values()),
        cpu_s=sum(ticks for _, ticks in live.values()) / CLOCK_TICKS,
        processes=len(live),
    )


def cpu_percent(before: TreeSample, after: TreeSample) -> float | None:
    """The tree's CPU use between two samples in percent of one core; None for no interval.

    Clamped at 0: a process of the tree that exits unreaped by the tree (a daemon re-parented to
    init) takes its counters with it.
    """
    interval = after.t - before.t
    if interval <= 0:
        return None
    return max(0.0, 100.0 * (after.cpu_s - before.cpu_s) / interval)


def _walk(roots: list[int], children: ChildrenOf) -> list[int]:
    """Breadth-first from `roots`, leaving out the pids that are not alive."""
    found: list[int] = []
    queue = deque(roots)
    seen = set(roots)
    while queue:
        pid = queue.popleft()
        kids = children(pid)
        if kids is None:
            continue
        found.append(pid)
        fresh = list(dict.fromkeys(kid for kid in kids if kid not in seen))
        seen.update(fresh)
        queue.extend(fresh)
    return found


def _has_children_files(base: str, roots: list[int]) -> bool:
    """Whether this kernel has the children files (judged on the first live root)."""
    for pid in roots:
        if os.path.isdir(f"{base}/{pid}"):
            return os.path.exists(f"{base}/{pid}/task/{pid}/children")
    return True  # no root alive: the walk finds nothing either way


def _children(base: str, pid: int) -> list[int] | None:
    """Children of every thread of `pid`; None when the process is gone."""
    task = f"{base}/{pid}/task"
    try:
        tids = os.listdir(task)
    except OSError:
        return None
    kids: list[int] = []
    for tid in tids:
        kids.extend(int(kid) for kid in (_read(f"{task}/{tid}/children") or b"").split())
    return kids


def _children_from_ppids(base: str) -> ChildrenOf:
    """The fallback without children files: one read of every process's parent pid."""
    alive: set[int] = set()
    by_parent: dict[int, list[int]] = {}
    for name in os.listdir(base):
        fields = _stat_fields(base, name) if name.isdigit() else None
        if fields is not None:
            alive.add(int(name))
            by_parent.setdefault(int(fields[PPID]), []).append(int(name))
    return lambda pid: by_parent.get(pid, []) if pid in alive else None


def _gauges(base: str, pid: int | str) -> tuple[int, int] | None:
    """(RSS in bytes, CPU clock ticks with reaped children) of one process; None when gone."""
    fields = _stat_fields(base, pid)
    if fields is None:
        return None
    statm = _read(f"{base}/{pid}/statm")
    if not statm:
        return None
    ticks = sum(int(value) for value in fields[UTIME : CSTIME + 1])
    return int(statm.split()[1]) * PAGE_SIZE, ticks


def _stat_fields(base: str, pid: int | str) -> list[bytes] | None:
    """The fields of `/proc/<pid>/stat` after the command name, which may hold spaces and ')'."""
    data = _read(f"{base}/{pid}/stat")
    if data is None:
        return None
    fields = data[data.rfind(b")") + 1 :].split()
    return fields if len(fields) > CSTIME else None


def _read(path: str) -> bytes | None:
    """The content of a small `/proc` file; None when it (or its process) is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = [os.read(fd, READ_SIZE)]
        while len(chunks[-1]) == READ_SIZE:
            chunks.append(os.read(fd, READ_SIZE))
        return b"".join(chunks)
    except OSError:  # ESRCH: the process exited after the open
        return None
    finally:
        os.close(fd)
