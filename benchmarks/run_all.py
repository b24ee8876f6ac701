"""Run every benchmark (`bench_*.py` in this folder) one after the other, with the same Python.

Usage: python benchmarks/run_all.py [--quick] [NAME ...]

NAME picks benchmarks by part of their name (e.g. `hashing`); by default all run. Each benchmark's
output is passed through; a summary of exit codes and times comes last. Always exits 0: benchmarks
report, they never assert.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def selected(names: list[str]) -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    return [s for s in scripts if not names or any(n in s.stem for n in names)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the yprov-workflows benchmarks.")
    parser.add_argument("--quick", action="store_true", help="the short mode of every benchmark")
    parser.add_argument("names", nargs="*", help="run only benchmarks whose name contains these")
    args = parser.parse_args()
    summary: list[tuple[str, int, float]] = []
    for script in selected(args.names):
        print(f"\n===== {script.name}{' --quick' if args.quick else ''} =====", flush=True)
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        t0 = time.perf_counter()
        code = subprocess.run(cmd).returncode
        summary.append((script.name, code, time.perf_counter() - t0))
    print("\n===== summary =====")
    for name, code, seconds in summary:
        print(f"{name:32s} exit {code}  {seconds:6.0f} s")


if __name__ == "__main__":
    main()
