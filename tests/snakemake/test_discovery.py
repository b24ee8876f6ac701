"""Snakemake finds the plugin by package name, in a fresh interpreter, for every install kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIND = (
    "from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry as R;"
    "import snakemake_executor_plugin_yprov as p;"
    "print(R().get_plugin('yprov').name, p.__file__)"
)


def test_installed_plugin_is_discovered_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FIND], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("yprov ")


def test_cli_lists_the_executor_and_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for option in ("--yprov-out", "--yprov-strict", "--yprov-no-redact"):
        assert option in result.stdout


def test_a_regular_install_is_discovered(tmp_path: Path) -> None:
    """`pip install .` (not editable) places a top-level package Snakemake can find."""
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    assert (target / "snakemake_executor_plugin_yprov" / "__init__.py").is_file()
    env_path = f"{target}"
    result = subprocess.run(
        [sys.executable, "-c", FIND],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
