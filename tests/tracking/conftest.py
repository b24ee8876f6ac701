"""Fixtures of the tracking tests: a fresh view of the environment for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from yprov_workflows.tracking.process import PROCESS


@pytest.fixture(autouse=True)
def _fresh_process_view() -> Iterator[None]:
    """Tests change YPROV_* variables: the process reads them again, and warns again."""
    PROCESS.forget()
    yield
    PROCESS.forget()
