"""Shared fixtures. Every document a test produces must pass `RunDocument.assert_valid()`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No YPROV_* setting from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("YPROV_"):
            monkeypatch.delenv(name)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, for real full-disk cases (mounting one needs root: skipped with the reason
    otherwise). Unmounted at the end."""
    mount = tmp_path / "small"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        pytest.skip(f"a real full disk needs `mount -t tmpfs`, which cannot run here: {exc}")
    if result.returncode != 0:
        pytest.skip(
            "a real full disk needs a small tmpfs; mounting one failed (root needed?): "
            f"{result.stderr.strip()}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
