"""Exports of a 10,000-step run: PROV-O N-Triples, the RO-Crate, the graph page (and DOT).

The document is the synthetic run of `bench_assembly.py` (10,000 steps, 2,000 with `--quick`),
built with the core records and `build_document`. Each contender runs in a forked child so that
its time and peak RSS (`wait4`) are its own (the peak includes the document, which every child
inherits: that floor is printed as `document`), interleaved over the repetitions:

* nt:       `write_ntriples` into a file (plain and qualified relations);
* rocrate:  `write_rocrate` into a zip (metadata, the PROV document, the workflow file);
* html:     `WorkflowGraph.of` + `html_page` + writing the page;
* dot:      `WorkflowGraph.of` + `dot_text` (groups: the run has more than 200 steps);
* baseline: prov + rdflib, the usual way to PROV-O Turtle: `ProvDocument.deserialize` and
            `serialize(format="rdf", rdf_format="turtle")` (once: it is slow).

Then the page is opened in headless Chromium (when installed; see tests/export/cdp_browser.py)
with the network off: the time from navigation to the end of its first drawing (`interactive`),
and the time to expand the largest group (at most 2,000 of its steps are drawn).

Targets: N-Triples <= 3 s, RO-Crate <= 5 s, HTML <= 3 s, page interactive <= 3 s.

Usage: python benchmarks/bench_export.py [--quick]
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _util import median, parse_args, print_table, spread
from bench_assembly import digest, synthetic_records

from yprov_workflows.export import WorkflowGraph, dot_text, html_page, write_ntriples
from yprov_workflows.export.rocrate import write_rocrate
from yprov_workflows.provjson import build_document
from yprov_workflows.records import RunEnd, RunStart, StepRecord

TESTS = Path(__file__).resolve().parents[1] / "tests" / "export"
TARGETS = {"nt": 3.0, "rocrate": 5.0, "html": 3.0}


def synthetic_document(steps: int, folder: Path) -> dict[str, Any]:
    """The run of bench_assembly, its workflow file made real (so the crate includes it)."""
    records = list(synthetic_records(steps))
    start = next(r for r in records if isinstance(r, RunStart))
    end = next(r for r in records if isinstance(r, RunEnd))
    document = build_document(start, [r for r in records if isinstance(r, StepRecord)], end)
    snakefile = folder / "Snakefile"
    snakefile.write_text("Snakefile")  # bench_assembly's recorded hash is digest("Snakefile")
    for entity in document["entity"].values():
        if entity.get("ywf:sha256") == digest("Snakefile"):
            entity["ywf:path"] = str(snakefile)
    return document


def contenders(document: dict[str, Any], out: Path) -> dict[str, Callable[[], object]]:
    def nt() -> object:
        with (out / "run.nt").open("w", encoding="utf-8") as stream:
            return write_ntriples(document, stream)

    def html() -> object:
        page = html_page(WorkflowGraph.of(document), "bench")
        (out / "run.html").write_text(page, encoding="utf-8")
        return len(page)

    return {
        "nt": nt,
        "rocrate": lambda: write_rocrate(document, out / "run.crate.zip", run_id="bench"),
        "html": html,
        "dot": lambda: len(dot_text(WorkflowGraph.of(document))),
    }


def baseline(document: dict[str, Any], out: Path) -> object:
    from prov.model import ProvDocument

    parsed = ProvDocument.deserialize(content=json.dumps(document), format="json")
    text = parsed.serialize(format="rdf", rdf_format="turtle")
    (out / "baseline.ttl").write_text(text, encoding="utf-8")
    return len(text)


def in_child(work: Callable[[], object]) -> tuple[float, int, object]:
    """Run `work` in a forked child: its seconds, its peak RSS (bytes) and its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        t0 = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - t0
        with os.fdopen(write, "wb") as pipe:
            pickle.dump((elapsed, str(result)), pipe)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        elapsed, result = pickle.load(pipe)
    _, status, usage = os.wait4(pid, 0)
    assert status == 0, f"the child failed ({status})"
    return elapsed, usage.ru_maxrss * 1024, result


def measure(document: dict[str, Any], out: Path, reps: int) -> dict[str, list[tuple[float, int]]]:
    runs = contenders(document, out)
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in runs}
    for rep in range(reps):
        for name, work in runs.items():
            elapsed, peak, result = in_child(work)
            results[name].append((elapsed, peak))
            print(
                f"rep {rep + 1} {name:8} {elapsed:7.3f} s  peak {peak / 2**20:7.1f} MiB  {result}"
            )
    return results


def report(results: dict[str, list[tuple[float, int]]], floor: int) -> None:
    rows = []
    for name, runs in results.items():
        times = [t for t, _ in runs]
        peak = max(p for _, p in runs)
        target = TARGETS.get(name)
        verdict = (
            "-"
            if target is None
            else f"<= {target:g} s: " + ("met" if median(times) <= target else "MISSED")
        )
        rows.append([name, median(times), spread(times), f"{peak / 2**20:.0f}", verdict])
    rows.append(["document", "-", "-", f"{floor / 2**20:.0f}", "(the floor of every peak)"])
    print_table(["export", "median s", "min..max", "peak MiB", "target"], rows)


def chromium_timings(page: Path, largest: int) -> None:
    """The page in headless Chromium: interactive time, and expanding the largest group."""
    sys.path.insert(0, str(TESTS))
    from cdp_browser import Browser, find_chromium

    program = find_chromium()
    if program is None:
        print("chromium: not installed (apt-get install chromium): page timings skipped")
        return
    with tempfile.TemporaryDirectory() as profile, Browser.start(program, Path(profile)) as b:
        b.open(page.as_uri())
        ready = float(b.wait_for("document.body && document.body.dataset.ready", timeout=120))
        verdict = "met" if ready <= 3000 else "MISSED"
        print(f"chromium: page interactive after {ready:.0f} ms (target <= 3000 ms: {verdict})")
        expand = EXPAND % largest
        took = b.evaluate(expand)
        drawn = b.evaluate("document.querySelectorAll('#graph .node').length")
        print(
            f"chromium: expanding the largest group ({largest} steps) took {took:.0f} ms, "
            f"{drawn} nodes drawn"
        )


EXPAND = """(function () {
  var group = Array.from(document.querySelectorAll('#graph .node.group.step'))[0];
  group.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  var t0 = performance.now();
  document.getElementById('expand').click();
  return performance.now() - t0; })() /* %d */"""


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps, reps = (2_000, 1) if args.quick else (10_000, 3)
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        t0 = time.perf_counter()
        document = synthetic_document(steps, folder)
        print(f"{steps} steps: document built in {time.perf_counter() - t0:.2f} s")
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        results = measure(document, folder, reps)
        elapsed, peak, _ = in_child(lambda: baseline(document, folder))
        results["baseline"] = [(elapsed, peak)]
        print(f"baseline (prov + rdflib Turtle): {elapsed:.2f} s, peak {peak / 2**20:.0f} MiB")
        print()
        report(results, floor)
        nt = median([t for t, _ in results["nt"]])
        print(f"\nN-Triples vs prov + rdflib Turtle: {elapsed / nt:.1f}x faster")
        sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
        print("sizes:", ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sorted(sizes.items())))
        groups = WorkflowGraph.of(document).groups.values()
        chromium_timings(folder / "run.html", max(len(g.members) for g in groups))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
