#!/usr/bin/env python3
"""Install everything the tests need into ./.venv, then lint, type-check and run all tests.

    python3 tests/run_tests.py [pytest arguments]

Needs only Python 3.11+. CI runs exactly this (see .ci/run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from quickstart import PYTHON, ROOT, install  # one install recipe for both


def step(*command: str) -> None:
    print("+", " ".join(command), flush=True)
    result = subprocess.run([str(PYTHON), "-m", *command], cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def main() -> None:
    install("test")
    step("ruff", "check", ".")
    step("ruff", "format", "--check", ".")
    step("mypy")
    step("pytest", *sys.argv[1:])


if __name__ == "__main__":
    main()
