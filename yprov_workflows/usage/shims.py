"""Per-step measuring shims and the usage they leave behind.

A step that runs shell commands gets its own folder holding a link named like its shell (so the
engine still recognises the shell) to a shim script (`shim_program.py` with the real shell filled
in). Every shell the step starts through that link leaves one `<pid>.usage` file; `collect`
sums them.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

MAX_SHEBANG = 250


@dataclass(frozen=True)
class ProcessUsage:
    """Exact usage of every process tree a step started, summed (peak RSS: the largest)."""

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
    """Usage of one reaped process tree from its rusage and IO counter deltas."""
    return ProcessUsage(
        cpu_user_s=float(getattr(usage, "ru_utime", 0.0)),
        cpu_system_s=float(getattr(usage, "ru_stime", 0.0)),
        max_rss_bytes=int(getattr(usage, "ru_maxrss", 0)) * 1024,
        read_bytes=io.get("read_bytes", 0),
        write_bytes=io.get("write_bytes", 0),
        read_chars=io.get("rchar", 0),
        written_chars=io.get("wchar", 0),
        processes=1,
    )


class ShimFactory:
    """Makes shim scripts (one per real shell) and step folders under `folder`."""

    def __init__(self, folder: Path, python: str = sys.executable) -> None:
        self.folder = folder
        self.python = python
        self._scripts: dict[str, Path] = {}
        self._lock = threading.Lock()

    @property
    def usable(self) -> bool:
        return len(f"#!{self.python} -IS") <= MAX_SHEBANG and os.name == "posix"

    def step_shell(self, step_key: str, real_shell: str) -> Path:
        """A fresh folder for one step attempt with a shell link; returns the link's path."""
        script = self._script_for(real_shell)
        step_dir = self.folder / "steps" / step_key
        shutil.rmtree(step_dir, ignore_errors=True)
        step_dir.mkdir(parents=True)
        link = step_dir / os.path.basename(real_shell)
        link.symlink_to(script)
        return link

    def _script_for(self, real_shell: str) -> Path:
        with self._lock:
            if real_shell not in self._scripts:
                self._scripts[real_shell] = self._write_script(real_shell, len(self._scripts))
            return self._scripts[real_shell]

    def _write_script(self, real_shell: str, number: int) -> Path:
        source = resources.files(__package__).joinpath("shim_program.py").read_text()
        source = source.replace('REAL_SHELL = "/bin/sh"', f"REAL_SHELL = {real_shell!r}", 1)
        path = self.folder / f"shim{number}.py"
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!{self.python} -IS\n{source}")
        path.chmod(0o755)
        return path


def collect(shell_link: Path) -> ProcessUsage | None:
    """Sum the usage files the step's shells left, then remove the step folder."""
    folder = shell_link.parent
    files = sorted(folder.glob("*.usage"))
    total = sum((_read_usage(f) for f in files), ProcessUsage()) if files else None
    shutil.rmtree(folder, ignore_errors=True)
    return total


def _read_usage(path: Path) -> ProcessUsage:
    fields = dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    return ProcessUsage(
        cpu_user_s=float(fields.get("utime", 0)),
        cpu_system_s=float(fields.get("stime", 0)),
        max_rss_bytes=int(fields.get("maxrss_kib", 0)) * 1024,
        read_bytes=int(fields.get("read_bytes", 0)),
        write_bytes=int(fields.get("write_bytes", 0)),
        read_chars=int(fields.get("rchar", 0)),
        written_chars=int(fields.get("wchar", 0)),
        processes=1,
    )
