"""Fixtures for the Snakemake integration tests (helpers live in smk_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path / "wf"
