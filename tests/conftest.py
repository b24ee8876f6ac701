"""Shared fixtures. Every document a test produces must pass `RunDocument.assert_valid()`."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No YPROV_* setting from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("YPROV_"):
            monkeypatch.delenv(name)
