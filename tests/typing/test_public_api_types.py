"""The decorators keep the wrapped functions' signatures for type checkers (mypy --strict), and
type checkers see Prefect's own overloads of `task` and `flow`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def mypy(name: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--follow-imports=silent",
        "--no-incremental",
        str(HERE / name),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def test_typed_usage_passes() -> None:
    result = mypy("prefect_api.py")
    assert result.returncode == 0, result.stdout


def test_wrong_types_are_caught() -> None:
    result = mypy("prefect_api_errors.py")
    assert result.returncode == 1
    assert 'expression has type "int", variable has type "str"' in result.stdout
    assert 'Argument 1 has incompatible type "str"; expected "int"' in result.stdout
    assert 'No overload variant matches argument type "str"' in result.stdout  # Prefect's options
