"""Wall time of a workflow on a real SLURM cluster: `--executor slurm` against
`--executor yprov-slurm`, same settings, interleaved repetitions, medians and their ratio
(target <= 1.05).

    python benchmarks/bench_slurm_overhead.py [--reps N | --quick]

Needs root (it starts the one-node cluster of tests/cluster/slurm_local.sh) and installs the
cluster plugins aside into .venv-cluster/ as the tests do. The workflow is the tests' cluster
workflow (tests/cluster/cluster_workflow.py, its good targets): two shell jobs, a `run:` job that
logs metrics, two local rules; three DAG levels.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from cluster_workflow import GOOD_TARGETS, write  # noqa: E402

PLUGINS = ROOT / ".venv-cluster"
SETTINGS = (
    "-j",
    "3",
    "--default-resources",
    "slurm_account=ci",
    "slurm_partition=debug",
    "--slurm-init-seconds-before-status-checks",
    "2",
)


def prepare() -> dict[str, str]:
    """The cluster up and the plugins installed (the tests' fixtures, called directly)."""
    subprocess.run(["bash", str(ROOT / "tests/cluster/slurm_local.sh")], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    from conftest import with_cluster_plugins  # tests/cluster: the tests' plugin install

    return with_cluster_plugins()


def one_run(executor: str, env: dict[str, str], base: Path) -> float:
    workdir = write(Path(tempfile.mkdtemp(dir=base)))
    command = [sys.executable, "-m", "snakemake", "--executor", executor, *SETTINGS, *GOOD_TARGETS]
    start = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, check=True, capture_output=True, timeout=900)
    elapsed = time.perf_counter() - start
    shutil.rmtree(workdir, ignore_errors=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repetition each")
    args = parser.parse_args()
    reps = 1 if args.quick else args.reps
    if os.geteuid() != 0:
        print("skipped: starting the SLURM cluster needs root")
        return
    env = {**prepare(), "PYTHONWARNINGS": "ignore"}
    times: dict[str, list[float]] = {"slurm": [], "yprov-slurm": []}
    with tempfile.TemporaryDirectory() as base:
        for rep in range(reps):
            for executor in times:  # interleaved: drift hits both alike
                times[executor].append(one_run(executor, env, Path(base)))
                print(f"rep {rep + 1}: {executor:12s} {times[executor][-1]:6.2f} s", flush=True)
    plain, ours = (statistics.median(times[e]) for e in times)
    print(f"\nmedian wall time: slurm {plain:.2f} s, yprov-slurm {ours:.2f} s")
    print(f"ratio yprov-slurm / slurm: {ours / plain:.3f} (target <= 1.05)")
    print(f"cpu count {os.cpu_count()}, {reps} interleaved repetitions each")


if __name__ == "__main__":
    main()
