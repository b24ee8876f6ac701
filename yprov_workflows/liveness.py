"""Is a run still being recorded? The owner lock of a run folder, and the check before recovery.

The process that records a run holds an exclusive `flock` on `<run dir>/owner.lock` from the run's
start to its end, and writes who it is into the file: `{"host", "pid", "pid_start"}` (`pid_start`:
the process's start time in clock ticks since boot, field 22 of `/proc/<pid>/stat`, where
readable). The kernel drops the lock when the process dies, however it dies. At the end of the run
the file is removed. A run whose lock is held, or whose owner process is alive with the same start
time (where locks are not kept, e.g. some network filesystems), is alive; one recorded on another
host cannot be checked from here. Any other run without a document was killed.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from yprov_workflows.environment import HOST

FILENAME = "owner.lock"
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}  # flock is not kept here


@dataclass(frozen=True)
class Owner:
    """Who records a run."""

    host: str
    pid: int
    pid_start: int | None

    @classmethod
    def me(cls) -> Owner:
        return cls(HOST, os.getpid(), pid_start(os.getpid()))


def pid_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot); None where /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        return int(stat[stat.rindex(b")") + 2 :].split()[19])  # field 22; fields 3.. follow ")"
    except (OSError, ValueError, IndexError):
        return None


class OwnerLock:
    """The lock the recording process holds on its run folder until the run ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, run_dir: Path) -> OwnerLock:
        """Take the run folder's lock and write who holds it. Raises OSError (e.g. BlockingIOError
        when another live process holds it)."""
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / FILENAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(asdict(Owner.me())).encode())
        except OSError:
            os.close(fd)
            raise
        return cls(path, fd)

    def release(self) -> None:
        """Remove the file (a finished run has no owner), then drop the lock."""
        if self._fd < 0:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            with suppress(OSError):  # a filesystem without locks
                fcntl.flock(self._fd, fcntl.LOCK_UN)  # also for forked children sharing the fd
            os.close(self._fd)
            self._fd = -1


def _lock(fd: int) -> None:
    """Lock exclusively; where the filesystem keeps no locks, the owner's pid stands in."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in _NO_LOCKS:
            raise  # BlockingIOError: another live process records this run


def still_recording(run_dir: Path) -> str | None:
    """Why the run in `run_dir` may still be recording, or None when its recorder is gone (or
    unknown: a folder without an owner file, from an older yprov-workflows)."""
    try:
        fd = os.open(run_dir / FILENAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        if not _may_lock(fd):
            return f"its recording process holds {run_dir / FILENAME}"
        owner = _read_owner(fd)
    finally:
        os.close(fd)  # drops our lock, if we took it
    return None if owner is None else _owner_alive(owner)


def _may_lock(fd: int) -> bool:
    """False when another process holds the lock; True too where there are no locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LOCKS:
            raise
    return True


def _read_owner(fd: int) -> Owner | None:
    try:
        data = json.loads(os.read(fd, 4096))
        start = data.get("pid_start")
        return Owner(str(data["host"]), int(data["pid"]), start if isinstance(start, int) else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # the owner died before writing itself: nobody holds the lock


def _owner_alive(owner: Owner) -> str | None:
    if owner.host != HOST:
        return f"it is recorded on host {owner.host}, which cannot be checked from {HOST}"
    if _pid_alive(owner.pid) and pid_start(owner.pid) == owner.pid_start:
        return f"its recording process {owner.pid} is alive"
    return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # not a process (kill would address a process group)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
