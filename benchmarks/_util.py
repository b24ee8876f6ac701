"""Small helpers shared by the benchmark scripts (standard library only).

The scripts import this module by name: Python puts the running script's folder (`benchmarks/`)
first on `sys.path`, so `python benchmarks/bench_x.py` works from any working directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
from collections.abc import Sequence


def parse_args(description: str) -> argparse.Namespace:
    """The common command line: `--quick` for a short smoke run."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a shorter run (under a minute)")
    return parser.parse_args()


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], rounds: int = 4000
) -> tuple[float, float]:
    """A 95 % bootstrap interval of median(numerator) / median(denominator): both samples drawn
    again with replacement `rounds` times (a fixed seed: the same runs give the same interval).
    How far the ratio of medians of a few noisy repetitions can be trusted."""
    draw = random.Random(0).choices
    ratios = sorted(
        statistics.median(draw(numerator, k=len(numerator)))
        / statistics.median(draw(denominator, k=len(denominator)))
        for _ in range(rounds)
    )
    return ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]


def steal_s() -> float | None:
    """CPU time the hypervisor gave other guests while this machine's CPUs wanted it (the
    `steal` column of `/proc/stat`, all CPUs, in seconds since boot); None where not readable.
    A benchmark that sees steal during a timed run was slowed by the host, not by the code."""
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def spread(values: Sequence[float]) -> str:
    """min..max of the repetitions, to show how noisy a median is."""
    return f"{min(values):.3f}..{max(values):.3f}" if values else "-"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain fixed-width table; the first column is left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def verdict(ratio: float, target: float, *, at_most: bool) -> str:
    """'met' or 'MISSED' against a target ratio (benchmarks report, they never assert)."""
    ok = ratio <= target if at_most else ratio >= target
    sign = "<=" if at_most else ">="
    return f"{ratio:.3f} (target {sign} {target:g}: {'met' if ok else 'MISSED'})"


def run_worker(cmd: Sequence[str], label: str) -> tuple[dict[str, float], float]:
    """Run one measuring subprocess that prints its phases as JSON; return them with its own
    CPU time (`cpu`, robust on a shared machine) and its peak RSS in MiB (from `wait4`: its own).
    A failed worker gives `({}, nan)` and a line saying so."""
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(f"  ! worker {label} exited {proc.returncode}", flush=True)
        return {}, float("nan")
    phases: dict[str, float] = json.loads(text)
    phases["cpu"] = usage.ru_utime + usage.ru_stime
    return phases, usage.ru_maxrss / 1024
