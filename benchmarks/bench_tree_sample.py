"""Cost of one sample of a process tree: `sample_tree` (raw /proc) against psutil.

For trees of 1, 10 and 50 processes (a Python parent with 0, 9 and 49 `sleep` children), one
sample (find the tree, then sum RSS and CPU time) is timed, interleaved: ours, psutil, ours, ...
The psutil baseline is the one described in the hardware design notes: `Process(root).children(
recursive=True)` (which reads every process on the host), then `memory_info()` and `cpu_times()`
of each. Both produce the same figures; the benchmark checks that they found the same processes.
The cost of psutil's `children` grows with the number of processes on the host, printed for context.
All processes are killed at the end.

Usage: python benchmarks/bench_tree_sample.py [--quick]
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import psutil
from _util import median, parse_args, print_table, spread

from yprov_workflows.usage.proctree import sample_tree, tree_pids

SIZES = (1, 10, 50)
PARENT = """
import subprocess, sys
sleeps = [subprocess.Popen(["sleep", "600"]) for _ in range(int(sys.argv[1]))]
print("ready", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def tree(processes: int) -> Iterator[int]:
    """A Python parent with `processes - 1` sleeping children; all killed at the end."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(processes - 1)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    pids: list[int] = []
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        pids = tree_pids([parent.pid])
        yield parent.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
        wait_gone(pids)


def wait_gone(pids: list[int], timeout_s: float = 5.0) -> None:
    """Until the killed processes are reaped (they would slow the next tree's psutil scan)."""
    deadline = time.monotonic() + timeout_s
    while tree_pids(pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def ours(root: int) -> tuple[int, float]:
    sample = sample_tree([root])
    return (sample.processes, sample.rss_bytes) if sample else (0, 0.0)


def with_psutil(root: int) -> tuple[int, float]:
    top = psutil.Process(root)
    processes = [top, *top.children(recursive=True)]
    rss, cpu = 0, 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            rss += process.memory_info().rss
            times = process.cpu_times()
            cpu += times.user + times.system + times.children_user + times.children_system
    return len(processes), float(rss)


def timed(func: Callable[[int], tuple[int, float]], root: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    found, _ = func(root)
    return time.perf_counter() - t0, found


def measure(processes: int, reps: int) -> list[object]:
    times: dict[str, list[float]] = {"ours": [], "psutil": []}
    with tree(processes) as root:
        counts = {timed(func, root)[1] for func in (ours, with_psutil)}  # warm up, check
        for _ in range(reps):
            for name, func in (("ours", ours), ("psutil", with_psutil)):
                times[name].append(timed(func, root)[0])
    ms = {name: [s * 1e3 for s in values] for name, values in times.items()}
    ours_ms, psutil_ms = median(ms["ours"]), median(ms["psutil"])
    found = "/".join(str(count) for count in sorted(counts))
    return [processes, found, ours_ms, spread(ms["ours"]), psutil_ms, psutil_ms / ours_ms]


def host_processes() -> int:
    return sum(name.isdigit() for name in os.listdir("/proc"))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    reps = 30 if args.quick else 200
    print(f"host: {host_processes()} processes, {os.cpu_count()} CPUs; {reps} repetitions each")
    rows = [measure(processes, reps) for processes in SIZES]
    headers = ["processes", "found", "ours ms", "ours min..max", "psutil ms", "psutil/ours"]
    print_table(headers, rows)


if __name__ == "__main__":
    main()
