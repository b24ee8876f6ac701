"""What the sampler process costs: the slowdown of a CPU-bound step it watches, and its own CPU.

1. A CPU-bound step (a child Python process running a fixed loop, about 3 s) runs unwatched
   (baseline), watched at the default tick (1 s, after 0.1 s ticks in the first 2 s and 0.25 s
   until 10 s) and watched at 10 Hz; runs interleaved, median wall time of each, ratio to the
   baseline. On this 2-core machine the sampler shares the cores with the step.
2. The sampler's own CPU time while it watches a long step (a sleeping process), read from
   `/proc/<sampler pid>/stat`, as a share of one core: over the first 10 s (faster ticks) and in
   the steady state after that. Target at the default tick: <= 0.5 % of one core.

The cost of one sample for trees of 1, 10 and 50 processes is `bench_tree_sample.py`.

Usage: python benchmarks/bench_sampler_overhead.py [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _util import median, parse_args, print_table, spread

from yprov_workflows.usage.monitor import Monitor

STEP = "n = 0\nfor i in range({loops}):\n    n += i * i\n"
CORE_SHARE_TARGET_PCT = 0.5


def calibrate(seconds: float) -> int:
    """Loops that take about `seconds` in a child."""
    loops = 2_000_000
    while True:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", STEP.format(loops=loops)], check=True)
        took = time.perf_counter() - t0
        if took > 0.5:
            return int(loops * seconds / took)
        loops *= 4


def step_wall(loops: int, tick: float | None) -> float:
    """Wall time of one step, watched by a fresh sampler at `tick` (None: no sampler)."""
    monitor = Monitor(tick) if tick is not None else None
    if monitor is not None:
        monitor.watch("warm-up", [os.getpid()])  # start the sampler before the clock runs
        monitor.stop("warm-up", 0.0)
        time.sleep(0.5)
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", STEP.format(loops=loops)])
    if monitor is not None:
        monitor.watch("step", [child.pid])
    child.wait()
    wall = time.perf_counter() - t0
    if monitor is not None:
        monitor.stop("step", wall)
        monitor.close()
    return wall


def sampler_cpu_s(monitor: Monitor) -> float:
    """The sampler's CPU time so far, in ns resolution (`schedstat`; `stat` counts 10 ms ticks)."""
    process = monitor._process  # the benchmark reads the sampler's own CPU from /proc
    assert process is not None
    return int(Path(f"/proc/{process.pid}/schedstat").read_text().split()[0]) / 1e9


def core_share(tick: float, steady_s: float) -> tuple[float, float]:
    """The sampler's CPU in % of one core: first 10 s of a step, then `steady_s` more."""
    sleeper = subprocess.Popen(["sleep", str(10 + steady_s + 5)])
    monitor = Monitor(tick)
    try:
        monitor.watch("long", [sleeper.pid])
        time.sleep(0.3)  # the sampler's start-up (imports) is not the sampling
        cpu0, t0 = sampler_cpu_s(monitor), time.monotonic()
        time.sleep(10 - 0.3)
        cpu1, t1 = sampler_cpu_s(monitor), time.monotonic()
        time.sleep(steady_s)
        cpu2, t2 = sampler_cpu_s(monitor), time.monotonic()
        monitor.stop("long", t2 - t0)
    finally:
        monitor.close()
        sleeper.kill()
        sleeper.wait()
    return 100 * (cpu1 - cpu0) / (t1 - t0), 100 * (cpu2 - cpu1) / (t2 - t1)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    reps, steady = (2, 10.0) if args.quick else (5, 30.0)
    loops = calibrate(3.0)
    variants: dict[str, float | None] = {"unwatched": None, "default tick": 1.0, "10 Hz": 0.1}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(reps):
        order = list(variants) if rep % 2 == 0 else list(variants)[::-1]
        for name in order:
            walls[name].append(step_wall(loops, variants[name]))
    base = median(walls["unwatched"])
    rows = [[n, len(w), median(w), spread(w), median(w) / base] for n, w in walls.items()]
    print(f"CPU-bound step ({loops:,} loops in a child), {reps} interleaved runs each")
    print_table(["sampler", "runs", "median wall s", "min..max s", "x unwatched"], rows)
    print("\nthe sampler's own CPU while it watches one long step, % of one core:")
    shares = [[f"{t:g} s", *core_share(t, steady)] for t in (1.0, 0.1)]
    print_table(["tick", "first 10 s", f"steady ({steady:g} s after)"], shares)
    steady_default = float(shares[0][2])
    met = "met" if steady_default <= CORE_SHARE_TARGET_PCT else "MISSED"
    print(
        f"\ndefault tick, steady state: {steady_default:.3f} % of one core "
        f"(target <= {CORE_SHARE_TARGET_PCT} %: {met})"
    )


if __name__ == "__main__":
    main()
