"""Who and where: the facts about the running user, host and files every adapter records."""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
from pathlib import Path

HOST = socket.gethostname()


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
