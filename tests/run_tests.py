#!/usr/bin/env python3
"""Install everything the tests need into ./.venv, then lint, type-check and run all tests.

    python3 tests/run_tests.py [pytest arguments]

Needs only Python 3.11+. CI runs exactly this (see .ci/run). A full run (no pytest arguments)
then runs `tests/prefect` again with the oldest Prefect that the `prefect` extra allows, in
./.venv-prefect-oldest (made once per version).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from quickstart import PYTHON, ROOT, install  # one install recipe for both

OLDEST = ROOT / ".venv-prefect-oldest"


def step(*command: str, python: Path = PYTHON) -> None:
    print("+", python.parent.parent.name, " ".join(command), flush=True)
    result = subprocess.run([str(python), "-m", *command], cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def oldest_prefect() -> str:
    """The lower bound of Prefect in the `prefect` extra of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (requirement,) = project["optional-dependencies"]["prefect"]
    found = re.search(r">=\s*([\w.]+)", requirement)
    if found is None:
        sys.exit(f"pyproject.toml: the prefect extra ({requirement!r}) needs a '>=' lower bound")
    return found.group(1)


def run_oldest_prefect_tests() -> None:
    """`tests/prefect` with the oldest allowed Prefect (without Dask: those tests skip)."""
    version = oldest_prefect()
    python, made = OLDEST / "bin" / "python", OLDEST / f"made-for-prefect-{version}"
    if not made.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(OLDEST)], check=True)
        pins = [f"prefect=={version}", "pytest>=8", "pytest-timeout>=2.3"]
        step("pip", "install", "--quiet", "-e", ".[prefect]", *pins, python=python)
        made.touch()
    step("pytest", "tests/prefect", "-q", python=python)


def main() -> None:
    install("test")
    step("ruff", "check", ".")
    step("ruff", "format", "--check", ".")
    step("mypy")
    step("pytest", *sys.argv[1:])
    if not sys.argv[1:]:
        run_oldest_prefect_tests()


if __name__ == "__main__":
    main()
