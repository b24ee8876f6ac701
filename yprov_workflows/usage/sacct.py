"""SLURM's own accounting of a job (`sacct`): a second, independent source of a step's usage,
recorded next to our own counters and labelled as SLURM's.

Where `sacct` cannot answer (not installed, accounting off, the job purged, too slow) the result
is a reason, never an error. Figures: the job's state and exit code as SLURM saw them, elapsed
time, total CPU time of all its steps, the largest `MaxRSS` of its steps (SLURM samples it every
`JobAcctGatherFrequency`, so it may miss short peaks), the allocated TRES and the consumed energy
(zero unless the site has an energy plugin: then it is left out, with a reason).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FIELDS = (
    "JobID",
    "State",
    "ExitCode",
    "Elapsed",
    "TotalCPU",
    "MaxRSS",
    "AllocTRES",
    "ConsumedEnergyRaw",
    "NodeList",
)
SOURCE = "sacct (SLURM accounting)"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Accounting:
    """What `sacct` says of one job: `figures` named `sacct_*`, or why there are none."""

    figures: dict[str, Any] = field(default_factory=dict)
    missing: str | None = None
    missing_energy: str | None = None


def query(job_id: str, timeout_s: float = 10.0, run: Run = subprocess.run) -> Accounting:
    """Ask `sacct` about job `job_id` (one call, bounded by `timeout_s`)."""
    command = ["sacct", "-j", job_id, "--noheader", "--parsable2", "--format", ",".join(FIELDS)]
    try:
        done = run(command, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        return Accounting(missing="sacct is not installed on the submitting host")
    except subprocess.TimeoutExpired:
        return Accounting(missing=f"sacct did not answer within {timeout_s:g} s")
    except OSError as problem:
        return Accounting(missing=f"sacct could not run: {problem}")
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return Accounting(missing=f"sacct failed: {said[0] if said else done.returncode}")
    return parse(job_id, done.stdout)


def parse(job_id: str, text: str) -> Accounting:
    """The job's figures from `sacct --parsable2 --noheader` output of `FIELDS`."""
    rows = [line.split("|") for line in text.splitlines() if line.count("|") == len(FIELDS) - 1]
    if not rows:
        return Accounting(missing=f"sacct has no record of job {job_id} (accounting off?)")
    job = next((row for row in rows if row[0] == job_id), rows[0])
    figures: dict[str, Any] = {"sacct_job_id": job_id, "sacct_state": job[1]}
    figures.update(_optional("sacct_exit_code", job[2], str))
    figures.update(_optional("sacct_elapsed_s", job[3], duration_s))
    figures.update(_optional("sacct_total_cpu_s", job[4], duration_s))
    figures.update(_optional("sacct_alloc_tres", job[6], str))
    figures.update(_optional("sacct_nodes", job[8], str))
    peaks = [size for size in (_memory_or_none(row[5]) for row in rows) if size is not None]
    if peaks:
        figures["sacct_max_rss_bytes"] = max(peaks)
    energy = _energy(job[7])
    if energy is None:
        return Accounting(
            figures,
            missing_energy="SLURM measured no energy for this job (no "
            "AcctGatherEnergyType plugin on the node?)",
        )
    figures["sacct_consumed_energy_j"] = energy
    return Accounting(figures)


def _optional(name: str, text: str, convert: Callable[[str], Any]) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        return {name: convert(text.strip())}
    except ValueError:
        return {}


def _memory_or_none(text: str) -> int | None:
    try:
        return memory_bytes(text) if text.strip() else None
    except ValueError:
        return None


def _energy(text: str) -> int | None:
    """Joules; None for SLURM's 0 (no energy plugin) or an empty field."""
    value = text.strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


_DURATION = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")


def duration_s(text: str) -> float:
    """SLURM's `[D-][HH:]MM:SS[.mmm]` in seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a SLURM duration: {text!r}")
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes) * 60
    return round(total + float(seconds), 3)


def memory_bytes(text: str) -> int:
    """SLURM's memory figures (`218200K`, `1.5G`, `512`): bytes, binary units."""
    match = re.match(r"^(\d+(?:\.\d+)?)([KMGTP]?)$", text.strip())
    if match is None:
        raise ValueError(f"not a SLURM memory size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])
