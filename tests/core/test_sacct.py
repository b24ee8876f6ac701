"""SLURM's accounting (`sacct`) parsed into labelled figures, and every way it can fail to answer
given as a reason, never an error (fakes at the edge: the real one runs in tests/cluster)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from yprov_workflows.usage import sacct

OUTPUT = """\
7|COMPLETED|0:0|00:00:07|00:03.381||billing=1,cpu=1,mem=1000M,node=1|0|localhost
7.batch|COMPLETED|0:0|00:00:07|00:03.100|216735744|cpu=1,mem=1000M,node=1|0|localhost
7.0|COMPLETED|0:0|00:00:05|00:00.281|177889K|cpu=1,mem=1000M,node=1|0|localhost
"""


def test_a_job_and_its_steps_become_one_set_of_figures() -> None:
    got = sacct.parse("7", OUTPUT)
    assert got.missing is None
    assert got.figures == {
        "sacct_job_id": "7",
        "sacct_state": "COMPLETED",
        "sacct_exit_code": "0:0",
        "sacct_elapsed_s": 7.0,
        "sacct_total_cpu_s": 3.381,
        "sacct_alloc_tres": "billing=1,cpu=1,mem=1000M,node=1",
        "sacct_nodes": "localhost",
        "sacct_max_rss_bytes": 216735744,  # the largest of its steps
    }
    assert got.missing_energy and "energy" in got.missing_energy  # SLURM's 0: no plugin


def test_energy_when_the_site_measures_it() -> None:
    line = "9|TIMEOUT|0:15|1-02:03:04|01:00:00|1.5G|cpu=4|123456|gpu01\n"
    got = sacct.parse("9", line)
    assert got.figures["sacct_consumed_energy_j"] == 123456
    assert got.figures["sacct_elapsed_s"] == 93784.0
    assert got.figures["sacct_max_rss_bytes"] == int(1.5 * 2**30)
    assert got.figures["sacct_state"] == "TIMEOUT" and got.missing_energy is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:05.234", 5.234), ("01:02:03", 3723.0), ("2-00:00:01", 172801.0), ("59:59", 3599.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert sacct.duration_s(text) == seconds


def test_garbage_figures_are_left_out_not_fatal() -> None:
    got = sacct.parse("3", "3|FAILED|1:0|soon|later|lots|x|?|n1\n")
    assert got.figures == {
        "sacct_job_id": "3",
        "sacct_state": "FAILED",
        "sacct_exit_code": "1:0",
        "sacct_alloc_tres": "x",
        "sacct_nodes": "n1",
    }


def _answer(code: int = 0, out: str = "", err: str = "") -> Any:
    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert command[:3] == ["sacct", "-j", "5"] and kwargs["timeout"] == 10.0
        return subprocess.CompletedProcess(command, code, out, err)

    return run


def _raising(problem: BaseException) -> Any:
    def run(command: list[str], **kwargs: Any) -> Any:
        raise problem

    return run


@pytest.mark.parametrize(
    ("run", "reason"),
    [
        (
            _answer(1, err="Slurm accounting storage is disabled\n"),
            "accounting storage is disabled",
        ),
        (_answer(0, out=""), "no record of job 5"),
        (_raising(FileNotFoundError("sacct")), "not installed"),
        (_raising(subprocess.TimeoutExpired("sacct", 10)), "did not answer within 10 s"),
    ],
)
def test_a_site_without_accounting_gives_a_reason(run: Any, reason: str) -> None:
    got = sacct.query("5", run=run)
    assert got.figures == {} and got.missing is not None and reason in got.missing
