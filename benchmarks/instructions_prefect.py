"""Instructions, not seconds: what `@prov_task` / `@prov_flow` add to a Prefect flow, counted.

Wall times of single flows on a small shared VM move by 20 % and more from one minute to the next
(see README.md, `bench_prefect_overhead.py`); instruction counts move by a few percent (the engine's
polling and event batching depend on timing). This script runs the flows of
`bench_prefect_overhead.py` (seq or map, 200 trivial tasks) in its own process under Valgrind's
callgrind, the server outside it, and counts the instructions of every thread of the flow's process
from the flow's call to its return, alternating plain and prov. Needs `valgrind` and a C compiler
(`cc`) for the three-line helper that switches the counting on and off around each flow; takes
about 20 s a flow.

Usage: python benchmarks/instructions_prefect.py [seq|map] [pairs (default 4)]
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELPER = """
#include <valgrind/callgrind.h>
void counting_on(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void counting_off(const char *label) {
    CALLGRIND_DUMP_STATS_AT(label);
    CALLGRIND_STOP_INSTRUMENTATION;
}
"""
CHILD = "YPROV_INSTRUCTIONS_CHILD"


def main() -> None:
    shape = sys.argv[1] if len(sys.argv) > 1 else "seq"
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    if shape not in ("seq", "map") or shutil.which("valgrind") is None or not shutil.which("cc"):
        sys.exit("usage: instructions_prefect.py [seq|map] [pairs]; needs valgrind and cc")
    order = [v for i in range(pairs) for v in (("plain", "prov") if i % 2 else ("prov", "plain"))]
    with tempfile.TemporaryDirectory(prefix="yprov-instructions-") as tmp:
        root = Path(tmp)
        helper = root / "counting.so"
        source = root / "counting.c"
        source.write_text(HELPER)
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", helper, source], check=True)
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={root}/out.%p",
            sys.executable,
            __file__,
            shape,
            ",".join(order),
        ]
        env = {**os.environ, CHILD: str(helper)}
        subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)
        report(counted(root))


def counted(root: Path) -> dict[str, list[int]]:
    """Instructions per variant, from the dump of each flow (`out.<pid>.<n>`)."""
    found: dict[str, list[int]] = {"plain": [], "prov": []}
    for dump in sorted(root.glob("out.*.*"), key=lambda p: int(p.suffix[1:])):
        text = dump.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (\w+)$", text, re.MULTILINE)
        total = re.search(r"^(?:summary|totals): (\d+)$", text, re.MULTILINE)
        if label and total:
            found[label.group(1)].append(int(total.group(1)))
    return found


def report(found: dict[str, list[int]]) -> None:
    for variant, counts in found.items():
        shown = ", ".join(f"{c / 1e6:,.0f}" for c in counts)
        print(f"{variant:5s} million instructions a flow: {shown}")
    plain, prov = statistics.mean(found["plain"]), statistics.mean(found["prov"])
    added = (prov - plain) / 200 / 1e3
    print(f"prov / plain (means): {prov / plain:.3f}  (+{added:,.0f} thousand a task)")


def child(helper: str, shape: str, order: list[str]) -> None:
    """Under Valgrind: the benchmark's server and flows, counting on around each flow."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_prefect_overhead as bench

    from yprov_prefect import settle as finish_flow_ends
    from yprov_workflows.pending import settle as finish_documents

    counting = ctypes.CDLL(helper)
    workdir = Path(tempfile.mkdtemp(prefix="yprov-instructions-work-"))
    os.chdir(workdir)
    with bench.prefect_server(workdir / "prefect-home"):
        flows = {variant: bench.make_flows(variant) for variant in bench.VARIANTS}
        for variant in bench.VARIANTS:  # warm-up: imports, registration
            bench.run_once(flows[variant], shape, variant, workdir, tasks=5)
        for variant in order:
            finish_flow_ends()
            finish_documents()
            gc.collect()
            time.sleep(1)
            counting.counting_on()
            _, flow_run_id = getattr(flows[variant], shape)(bench.TASKS)
            counting.counting_off(variant.encode())
            finish_flow_ends()
            finish_documents()
            bench.settle(flow_run_id, bench.TASKS)  # the next flow starts with an idle server


if __name__ == "__main__":
    if os.environ.get(CHILD):
        child(os.environ[CHILD], sys.argv[1], sys.argv[2].split(","))
    else:
        main()
