"""Cluster jobs on their nodes: where a job's process records it, and how the submitting
process finds that record again.

On a cluster each job runs in its own `snakemake --mode remote` process on a compute node, which
runs this plugin's executor (`cluster.py` asks for it). That process measures the job where it
runs and writes its step record to a journal of its own in the run's folder (shared filesystem):
`journals/job-<job uuid>-<attempt>-<host>-<pid>.jsonl`. Snakemake gives every job the job id 0 in
such a process, so records are keyed by `job.uuid()` (stable across processes) and the attempt;
the name lets the submitting process read exactly that job's record when the scheduler reports
the job finished.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path

from yprov_workflows.journal import WRITERS, Warn, read_journal
from yprov_workflows.records import StepRecord
from yprov_workflows.values import Value
from yprov_workflows.vocabulary import safe

# Variables a scheduler sets in a job's environment: what they say about where the job ran.
_SCHEDULER_VARIABLES = {
    "SLURM_JOB_ID": "slurm_job_id",
    "SLURM_STEP_ID": "slurm_step_id",
    "SLURMD_NODENAME": "slurm_node",
    "SLURM_CLUSTER_NAME": "slurm_cluster",
    "SLURM_JOB_PARTITION": "slurm_partition",
    "PBS_JOBID": "pbs_job_id",
    "LSB_JOBID": "lsf_job_id",
}


def node_journal_namer(run_dir: Path) -> Callable[[StepRecord], Path]:
    """The journal each step record of this process goes to (see the module's docstring)."""
    where = f"{safe(socket.gethostname())}-{os.getpid()}"

    def journal_of(step: StepRecord) -> Path:
        return run_dir / WRITERS / f"{_prefix(step.key, step.attempt)}{where}.jsonl"

    return journal_of


def node_records(run_dir: Path, key: str, attempt: int, warn: Warn) -> list[StepRecord]:
    """The records the nodes wrote of one job attempt (none when its process never recorded)."""
    found: list[StepRecord] = []
    for path in sorted((run_dir / WRITERS).glob(f"{_prefix(key, attempt)}*.jsonl")):
        records = read_journal(path, warn).records
        found += [r for r in records if isinstance(r, StepRecord) and r.key == key]
    return [r for r in found if r.attempt == attempt]


def _prefix(key: str, attempt: int) -> str:
    return f"job-{safe(key)}-{attempt}-"


def scheduler_facts(environ: Mapping[str, str]) -> dict[str, Value]:
    """What the scheduler's variables say about the job (its id, node, partition)."""
    return {
        name: environ[variable]
        for variable, name in _SCHEDULER_VARIABLES.items()
        if environ.get(variable)
    }
