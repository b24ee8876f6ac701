"""Python calls, not seconds: how much work of ours a Prefect flow of trivial tasks carries.

Wall times of single flows on a small shared VM move by 20 % and more (README.md,
`bench_prefect_overhead.py`); the number of Python function calls a flow makes barely moves. This
script runs the flows of `bench_prefect_overhead.py` (seq or map, 200 trivial tasks), plain and
prov, with a profile function (`sys.setprofile`, `threading.setprofile`) that counts every call
by function, from the flow's call to its return, in the calling thread and in the threads started
while counting (our batch writer and the thread that writes the document; for `.map`, Prefect's
task threads). Threads that were running before (Prefect's event-loop threads) are not seen:
Python 3.11 cannot set a profile function on them. The counting slows everything down, so timing
dependent work (the writer's batches, the engine's polling) moves a little.

Prints, per flow: the calls made by Prefect and the standard library in each variant and their
difference by function (what our recording makes Prefect do), and our own calls by thread and by
module (what is ours to cut). Counts repeat from flow to flow within about 1 %.

Usage: python benchmarks/calls_prefect.py [seq|map] [flows per variant (default 2)]
"""

from __future__ import annotations

import collections
import gc
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

OURS = ("yprov_workflows", "yprov_prefect")
Key = tuple[str, str, str]  # thread kind, module file, function


class CallCounter:
    """Counts calls by (thread kind, file, function) while `on`."""

    def __init__(self) -> None:
        self.calls: collections.Counter[Key] = collections.Counter()
        self.on = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and self.on:
            code = frame.f_code
            self.calls[(_thread_kind(), _short(code.co_filename), code.co_name)] += 1


def _thread_kind() -> str:
    name = threading.current_thread().name
    if name.startswith("yprov-flow-end"):
        return "yprov-flow-end"
    return name.split("-")[0] if name.startswith("ThreadPool") else name


def _short(filename: str) -> str:
    """`yprov_workflows/journal.py`, `prefect/flows.py`, `threading.py`."""
    for marker in (*(f"/{name}/" for name in OURS), "site-packages/"):
        if marker in filename:
            return marker.lstrip("/").replace("site-packages/", "") + filename.split(marker)[-1]
    return filename.rsplit("/", 1)[-1]


def is_ours(key: Key) -> bool:
    return key[1].startswith(OURS)


def count_flows(
    shape: str, flows_each: int
) -> tuple[dict[str, collections.Counter[Key]], dict[str, list[int]]]:
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_prefect_overhead as bench

    from yprov_prefect import settle as finish_flow_ends

    for name in [name for name in os.environ if name.startswith("YPROV_")]:
        del os.environ[name]
    workdir = Path(tempfile.mkdtemp(prefix="yprov-calls-"))
    os.chdir(workdir)
    counter = CallCounter()
    found: dict[str, collections.Counter[Key]] = {}
    totals: dict[str, list[int]] = {variant: [] for variant in bench.VARIANTS}
    with bench.prefect_server(workdir / "prefect-home"):
        flows = {variant: bench.make_flows(variant) for variant in bench.VARIANTS}
        for variant in bench.VARIANTS:  # warm-up: imports, registration
            bench.run_once(flows[variant], shape, variant, workdir, tasks=5)
        sys.setprofile(counter)
        threading.setprofile(counter)
        try:
            for variant in bench.VARIANTS:
                counter.calls = collections.Counter()
                for _ in range(flows_each):
                    finish_flow_ends()
                    gc.collect()
                    before = counter.calls.total()
                    counter.on = True
                    _, flow_run_id = getattr(flows[variant], shape)(bench.TASKS)
                    counter.on = False
                    totals[variant].append(counter.calls.total() - before)
                    finish_flow_ends()
                    bench.settle(flow_run_id, bench.TASKS)
                found[variant] = counter.calls
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
    return found, totals


def report(
    found: dict[str, collections.Counter[Key]], totals: dict[str, list[int]], flows_each: int
) -> None:
    prov = found["prov"]
    theirs = {variant: _theirs(calls) for variant, calls in found.items()}
    print(f"Python calls a flow of 200 tasks (mean of {flows_each} flows each)")
    for variant, calls in theirs.items():
        total = sum(calls.values()) / flows_each
        print(f"  Prefect and the standard library, {variant:5s}: {total:10,.0f}")
    for variant, counts in totals.items():
        print(f"  all calls of each {variant} flow: " + ", ".join(f"{n:,}" for n in counts))
    ours = collections.Counter({key: n for key, n in prov.items() if is_ours(key)})
    print(f"  ours (prov):                              {sum(ours.values()) / flows_each:10,.0f}")
    print("\nours by thread, a flow")
    _print_grouped(ours, lambda key: key[0], flows_each)
    print("\nours by module, a flow")
    _print_grouped(ours, lambda key: key[1], flows_each)
    print("\nPrefect and the standard library, prov - plain, by function (largest changes), a flow")
    diff = collections.Counter(theirs["prov"])
    diff.subtract(theirs["plain"])
    changes = sorted(diff.items(), key=lambda item: -abs(item[1]))[:20]
    for (module, function), n in changes:
        print(f"  {n / flows_each:+9,.0f}  {module}:{function}")


def _theirs(calls: collections.Counter[Key]) -> collections.Counter[tuple[str, str]]:
    merged: collections.Counter[tuple[str, str]] = collections.Counter()
    for key, n in calls.items():
        if not is_ours(key):
            merged[(key[1], key[2])] += n
    return merged


def _print_grouped(calls: collections.Counter[Key], group: Any, flows_each: int) -> None:
    grouped: collections.Counter[str] = collections.Counter()
    for key, n in calls.items():
        grouped[group(key)] += n
    for name, n in grouped.most_common(15):
        print(f"  {n / flows_each:9,.0f}  {name}")


def main() -> None:
    shape = sys.argv[1] if len(sys.argv) > 1 else "seq"
    flows_each = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    if shape not in ("seq", "map") or flows_each < 1:
        sys.exit("usage: calls_prefect.py [seq|map] [flows per variant]")
    found, totals = count_flows(shape, flows_each)
    report(found, totals, flows_each)


if __name__ == "__main__":
    main()
