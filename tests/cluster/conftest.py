"""Real clusters for the tests: Snakemake's cluster plugins installed aside, and a one-node SLURM.

The cluster plugins are not in the `test` extra: with a SLURM client and no controller, the SLURM
plugin makes every `snakemake` call of every other test wait (Snakemake imports all installed
plugins). They are installed once into `.venv-cluster/` and put on `PYTHONPATH` for these tests
only. SLURM itself comes from `slurm_local.sh` (Debian packages, root; about 20 s from nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / ".venv-cluster"
HERE = Path(__file__).resolve().parent
# What the plugins need beyond Snakemake (already in .venv): the SLURM plugin imports pandas.
EXTRA_DEPENDENCIES = ("pandas>=2.3,<4", "throttler>=1.2.2,<2")


def _requirements() -> list[str]:
    """The cluster plugins as the `slurm` and `cluster-generic` extras pin them."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = extras["optional-dependencies"]
    wanted = [r for name in ("slurm", "cluster-generic") for r in optional[name]]
    plugins = [r for r in wanted if not r.startswith("yprov-workflows")]
    return [*plugins, "snakemake-executor-plugin-slurm-jobstep>=0.6,<1", *EXTRA_DEPENDENCIES]


@pytest.fixture(scope="session")
def cluster_env() -> dict[str, str]:
    return with_cluster_plugins()


def with_cluster_plugins() -> dict[str, str]:
    """The environment of a `snakemake` that has the cluster plugins (installed once)."""
    requirements = _requirements()
    made = PLUGINS / ".made-for"
    if not made.exists() or made.read_text() != "\n".join(requirements):
        shutil.rmtree(PLUGINS, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run([*pip, "--target", str(PLUGINS), *requirements], check=True)
        made.write_text("\n".join(requirements))
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture(scope="session")
def slurm() -> Iterator[None]:
    """A running one-node SLURM cluster with accounting (account `ci`, partition `debug`)."""
    reason = _cannot_start_slurm()
    if reason:
        pytest.skip(f"no SLURM cluster: {reason}")
    result = subprocess.run(
        ["bash", str(HERE / "slurm_local.sh")], capture_output=True, text=True, timeout=600
    )
    assert "SLURM READY" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    yield


def _cannot_start_slurm() -> str | None:
    if shutil.which("sbatch") and shutil.which("slurmctld"):
        return None if os.geteuid() == 0 else "not root: cannot start the daemons"
    if os.geteuid() != 0:
        return "SLURM is not installed and this user is not root (cannot apt-get it)"
    if not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    return None
