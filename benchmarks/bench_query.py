"""Queries on a 10,000-step run: `show`, `lineage` and `diff` (yprov_workflows.query), against the
same lineage walked with the `prov` library; and the cost of capturing the software environment.

Two documents are built with the core records and `provjson` (the synthetic run of
`bench_assembly.py`: 10,000 steps, 2,000 with `--quick`, each reading the previous step's output
and the output of step i // 2): the run, and its twin, with one config value and one step's
parameter changed and every step's CPU time a little different.

Each contender runs in its own subprocess (its peak RSS is its own), interleaved per repetition:

* parse:   `json.loads` of the document (the floor every reader pays);
* show:    parse, `RunGraph.from_document` (the index), `summarize_run` and its text;
* lineage: parse, index, the upstream lineage of the last step's output (the whole chain back to
           the raw input: 30,000 nodes) and its text; then, timed on its own (`down`), the
           downstream lineage of the raw input (the whole run);
* diff:    parse both documents, index both, `diff_runs`;
* prov:    the baseline: `prov.model.ProvDocument.deserialize`, then the same upstream walk over
           an adjacency built from its `used` and `wasGeneratedBy` records (once, not repeated:
           it takes tens of seconds).

Targets (on the index, after parsing): show and lineage <= 0.5 s, diff <= 2 s; the software
capture <= 0.1 s. Times with parsing included are printed too, and the ratio prov/ours for the
upstream lineage (parsing included on both sides).

Usage: python benchmarks/bench_query.py [--quick]
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _util
from _util import median, parse_args, print_table, spread, verdict
from bench_assembly import output_of, synthetic_records

from yprov_workflows.provjson import build_document
from yprov_workflows.records import RunEnd, RunStart, StepRecord, Usage
from yprov_workflows.runs import write_document

MODES = ("parse", "show", "lineage", "diff")
TARGETS = {"show": 0.5, "lineage": 0.5, "diff": 2.0}
CAPTURE_TARGET = 0.1
_TIMES = ("parse", "index", "query", "down")


# -- the documents --------------------------------------------------------------------------------


def write_documents(folder: Path, steps: int) -> tuple[Path, Path]:
    records = list(synthetic_records(steps))
    start, body, end = records[0], records[1:-1], records[-1]
    assert isinstance(start, RunStart) and isinstance(end, RunEnd)
    run, twin = folder / "run.prov.json", folder / "twin.prov.json"
    write_document(run, build_document(start, body, end))  # type: ignore[arg-type]
    twin_start = dataclasses.replace(
        start, run_id="twin", config={**start.config, "min_quality": 30}
    )
    changed = [_twin_step(s, i, steps) for i, s in enumerate(body)]  # type: ignore[arg-type]
    twin_end = dataclasses.replace(end, run_id="twin")
    write_document(twin, build_document(twin_start, changed, twin_end))
    return run, twin


def _twin_step(step: StepRecord, i: int, steps: int) -> StepRecord:
    figures = {**step.usage.figures, "cpu_total_s": 1.2 + (i % 7) / 50}
    params = {**step.params, "threshold": 0.5} if i == steps // 2 else step.params
    return dataclasses.replace(step, run_id="twin", params=params, usage=Usage(figures, "wait4"))


# -- the worker: one contender in its own process -------------------------------------------------


def worker(mode: str, run: Path, twin: Path, steps: int) -> dict[str, float]:
    """One contender; the query modes run with the garbage collector paused, as `yprov` runs
    its query commands (cli/query.py)."""
    from yprov_workflows.gc_pause import paused_gc

    if mode == "prov":
        return prov_worker(run, steps)
    with paused_gc():
        return our_worker(mode, run, twin, steps)


def our_worker(mode: str, run: Path, twin: Path, steps: int) -> dict[str, float]:
    from yprov_workflows.query import RunGraph, diff_runs, lineage, summarize_run
    from yprov_workflows.query.text import diff_lines, lineage_lines, show_blocks

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    document = json.loads(run.read_bytes())
    phases["parse"] = time.perf_counter() - t0
    if mode == "parse":
        return phases
    t1 = time.perf_counter()
    graph = RunGraph.from_document(document)
    phases["index"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    if mode == "show":
        list(show_blocks(summarize_run(graph), 40))
    elif mode == "lineage":
        up = lineage(graph, output_of(steps - 1).path)
        list(lineage_lines(up))
        phases["up_nodes"] = len(up.nodes)
        t = time.perf_counter()
        down = lineage(graph, "data/raw/reads.fastq.gz", "down")
        phases["down"], phases["down_nodes"] = time.perf_counter() - t, len(down.nodes)
        t2 += phases["down"]  # reported on its own: the query is the upstream lineage
    else:
        other = json.loads(twin.read_bytes())
        phases["parse"] += time.perf_counter() - t2  # both documents are parsed and indexed
        t = time.perf_counter()
        other_graph = RunGraph.from_document(other)
        phases["index"] += time.perf_counter() - t
        t2 = time.perf_counter()
        result = diff_runs(graph, other_graph)
        list(diff_lines(result))
        phases["changed_steps"] = sum(1 for s in result.steps if s.changes)
    phases["query"] = time.perf_counter() - t2
    return phases


def prov_worker(run: Path, steps: int) -> dict[str, float]:
    """The baseline: prov's own reader, then the upstream walk over its records."""
    from prov.model import ProvDocument, ProvGeneration, ProvUsage

    t0 = time.perf_counter()
    document = ProvDocument.deserialize(content=run.read_text(encoding="utf-8"), format="json")
    t1 = time.perf_counter()
    used: dict[str, list[str]] = {}
    generated_by: dict[str, list[str]] = {}
    for record in document.get_records(ProvUsage):
        activity, entity = (str(v) for _, v in record.formal_attributes[:2])
        used.setdefault(activity, []).append(entity)
    for record in document.get_records(ProvGeneration):
        entity, activity = (str(v) for _, v in record.formal_attributes[:2])
        generated_by.setdefault(entity, []).append(activity)
    target = next(
        str(r.identifier)
        for r in document.get_records()
        if r.get_attribute("ywf:path") == {output_of(steps - 1).path}
    )
    seen, queue = {target}, [target]
    while queue:
        node = queue.pop()
        for other in generated_by.get(node, []) + used.get(node, []):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    query = time.perf_counter() - t1
    return {"parse": t1 - t0, "index": 0.0, "query": query, "up_nodes": len(seen)}


def run_worker(mode: str, run: Path, twin: Path, steps: int) -> tuple[dict[str, float], float]:
    """Phases and peak RSS (MiB) of one worker subprocess."""
    cmd = [sys.executable, __file__, "--worker", mode, str(run), str(twin), str(steps)]
    return _util.run_worker(cmd, mode)


# -- the software environment ---------------------------------------------------------------------


def capture_times(folder: Path, reps: int) -> list[float]:
    from yprov_workflows.software import capture

    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        capture(str(Path.cwd()), folder / f"env{i}", "snakemake", __file__)
        times.append(time.perf_counter() - t0)
    return times


# -- the parent: repetitions and report -----------------------------------------------------------


def measure(run: Path, twin: Path, steps: int, reps: int) -> dict[str, list[Any]]:
    results: dict[str, list[Any]] = {mode: [] for mode in MODES}
    for rep in range(reps):
        for mode in MODES:
            phases, rss = run_worker(mode, run, twin, steps)
            results[mode].append((phases, rss))
            shown = "  ".join(
                f"{k} {v:.3f}" if k in _TIMES else f"{k} {v:.0f}" for k, v in phases.items()
            )
            print(f"  rep {rep + 1}/{reps} {mode:7s} {shown}  peak RSS {rss:.0f} MiB", flush=True)
    return results


def report(results: dict[str, list[Any]], prov: tuple[dict[str, float], float]) -> None:
    rows = []
    for mode, runs in [*results.items(), ("prov", [prov])]:
        work = [p.get("index", 0.0) + p.get("query", 0.0) for p, _ in runs if p]
        total = [p["parse"] + p.get("index", 0.0) + p.get("query", 0.0) for p, _ in runs if p]
        rows.append(
            [
                mode,
                len(runs),
                median([p["parse"] for p, _ in runs if p]),
                median([p.get("index", 0.0) for p, _ in runs if p]),
                median([p.get("query", 0.0) for p, _ in runs if p]),
                median(work),
                spread(work),
                median(total),
                f"{median([rss for _, rss in runs]):.0f}",
            ]
        )
    headers = ["mode", "reps", "parse s", "index s", "query s", "index+query s", "min..max s"]
    print_table([*headers, "with parse s", "peak RSS MiB"], rows)
    print()
    for mode, target in TARGETS.items():
        work = [p["index"] + p["query"] for p, _ in results[mode] if p]
        print(f"{mode:8s} index + query: {verdict(median(work), target, at_most=True)} s")
    ours = median([p["parse"] + p["index"] + p["query"] for p, _ in results["lineage"] if p])
    theirs = prov[0].get("parse", 0.0) + prov[0].get("query", 0.0)
    print(f"lineage  prov/ours (parsing included): {theirs / ours:.1f}x")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        mode, run, twin, steps = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
        print(json.dumps(worker(mode, run, twin, int(steps))))
        return
    args = parse_args(__doc__.splitlines()[0])
    steps, reps = (2_000, 1) if args.quick else (10_000, 3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run, twin = write_documents(folder, steps)
        print(f"{steps} steps: document {run.stat().st_size / 1e6:.1f} MB, twin likewise")
        results = measure(run, twin, steps, reps)
        print("  prov baseline (once) ...", flush=True)
        prov = run_worker("prov", run, twin, steps)
        shown = "  ".join(
            f"{k} {v:.3f}" if k in _TIMES else f"{k} {v:.0f}" for k, v in prov[0].items()
        )
        print(f"  prov    {shown}  peak RSS {prov[1]:.0f} MiB")
        print()
        report(results, prov)
        times = capture_times(folder, 5 if args.quick else 20)
        print(
            f"software capture: median {median(times) * 1000:.1f} ms, {spread(times)} s; "
            f"{verdict(median(times), CAPTURE_TARGET, at_most=True)} s"
        )


if __name__ == "__main__":
    main()
