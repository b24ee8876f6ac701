"""Who and where: the facts about the running user, host and files every adapter records."""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
from pathlib import Path

HOST = socket.gethostname()
_PID = [os.getpid()]  # read again in a forked child only (`os.register_at_fork`)
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


def process_id() -> int:
    """`os.getpid()` without its system call (made several times for each Prefect task run)."""
    return _PID[0]


def current_user() -> str:
    """The login name, or the numeric uid where there is none (containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def file_sha256(path: str | None) -> str | None:
    """sha256 of a small file (a workflow definition); None when it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        return None
