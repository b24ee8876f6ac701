"""Assembling a cluster run: 100,000 steps written by 100 hosts, one journal per writer.

The synthetic steps of `bench_assembly.py` (2 inputs, 1 output, 3 params, wildcards, resources, a
shell command, 10 usage figures; each step's inputs are the outputs of steps i - 1 and i // 2, so
the upstream edges cross hosts) are dealt round-robin to 100 hosts (10 with `--quick`, 10,000
steps), each step carrying its host's name. Layouts of the same records:

* cluster: each host writes one journal under `journals/` (named as `writer_journal_path` names
  them: a Prefect worker's thread); the run's owner writes `journal.jsonl` with the run's start
  and end, and one step in 100 a second time (a step the owner recorded too: kept once);
* per-job: one journal per step (Snakemake on a cluster: each job's `--mode remote` process
  writes `journals/job-<uuid>-<attempt>-<host>-<pid>.jsonl`), 100,000 files;
* single: every record in ONE `journal.jsonl` (the baseline: a single machine's run).

Each contender runs `assemble_to_file(run_dir)` (read, merge, build, write) in a fresh
subprocess, so that its peak RSS (`ru_maxrss` of `wait4`) is its own, interleaved over the
repetitions; and, on a subset (2,000 steps; 1,000 with `--quick`) in the cluster layout, `prov`
builds the same graph with `prov.model` from the records `read_run_journal` gives
(`bench_assembly.py`'s `prov_document`) and serializes it, against `ours-subset`,
`assemble_to_file` on that subset.

Targets (issue 11): the 100,000-step cluster run assembles in under 20 s with a peak RSS under
2 GiB on the 2-core VM, into a valid document with every step once. The three layouts must give
the same document, byte for byte.

Usage: python benchmarks/bench_cluster_assembly.py [--quick]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import _util
from _util import median, print_table, spread, verdict
from bench_assembly import RUN_ID, prov_document, split, synthetic_records

from yprov_workflows.assemble import assemble_to_file
from yprov_workflows.journal import HEADER, WRITERS, framed_line, read_run_journal
from yprov_workflows.records import Record, StepRecord
from yprov_workflows.runs import journal_path

TARGET_S = 20.0
TARGET_RSS_MIB = 2048.0
OWNER_COPY_EVERY = 100  # one step in this many is in the owner's journal too


# -- the synthetic runs ---------------------------------------------------------------------------


def host_name(host: int) -> str:
    return f"node-{host:03d}"


def writer_file(run_dir: Path, host: int) -> Path:
    """A writer journal named as `writer_journal_path` names it: host, pid, token, thread."""
    return run_dir / WRITERS / f"{host_name(host)}-{20_000 + host}-{host:06x}-{30_000 + host}.jsonl"


def dealt(steps: int, hosts: int) -> Iterator[tuple[int, Record]]:
    """Every record with the host that writes it (-1: the run's owner)."""
    for number, record in enumerate(synthetic_records(steps)):
        if isinstance(record, StepRecord):
            host = (number - 1) % hosts  # record 0 is the run's start
            yield host, replace(record, host=host_name(host))
        else:
            yield -1, record


def write_cluster_run(run_dir: Path, steps: int, hosts: int) -> None:
    (run_dir / WRITERS).mkdir(parents=True)
    files = {host: writer_file(run_dir, host).open("wb") for host in range(hosts)}
    files[-1] = journal_path(run_dir).open("wb")
    for handle in files.values():
        handle.write(HEADER)
    copies: list[bytes] = []
    for number, (host, record) in enumerate(dealt(steps, hosts)):
        line = framed_line(record)
        if host >= 0 and number % OWNER_COPY_EVERY == 0:
            copies.append(line)
        if host == -1 and copies:  # the run's end: the owner's copies come before it
            files[-1].writelines(copies)
        files[host].write(line)
    for handle in files.values():
        handle.close()


def write_per_job_run(run_dir: Path, steps: int, hosts: int) -> None:
    """Snakemake's layout on a cluster: one journal per job, written by its `--mode remote`
    process on the node (`journals/job-<uuid>-<attempt>-<host>-<pid>.jsonl`)."""
    (run_dir / WRITERS).mkdir(parents=True)
    owner = [HEADER]
    for host, record in dealt(steps, hosts):
        if isinstance(record, StepRecord):
            name = f"job-{record.key}-{record.attempt}-{host_name(host)}-{record.pid}.jsonl"
            (run_dir / WRITERS / name).write_bytes(HEADER + framed_line(record))
        else:
            owner.append(framed_line(record))
    journal_path(run_dir).write_bytes(b"".join(owner))


def write_single_run(run_dir: Path, steps: int, hosts: int) -> None:
    run_dir.mkdir(parents=True)
    with journal_path(run_dir).open("wb") as handle:
        handle.write(HEADER)
        handle.writelines(framed_line(record) for _, record in dealt(steps, hosts))


def folder_size(run_dir: Path) -> float:
    return sum(p.stat().st_size for p in run_dir.rglob("*.jsonl")) / 1e6


# -- the worker: one contender in its own process -------------------------------------------------


def worker(mode: str, run_dir: Path, out: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    if mode != "prov":
        assemble_to_file(run_dir, out)
        return {"total": time.perf_counter() - t0}
    start, steps, end = split(read_run_journal(run_dir).records)
    t1 = time.perf_counter()
    text = prov_document(start, steps, end).serialize(format="json", indent=1)
    out.write_text(text, encoding="utf-8")
    return {"read": t1 - t0, "total": time.perf_counter() - t0}


def run_worker(mode: str, run_dir: Path, out: Path) -> tuple[dict[str, float], float]:
    """Phases and peak RSS (MiB) of one worker subprocess."""
    return _util.run_worker(
        [sys.executable, __file__, "--worker", mode, str(run_dir), str(out)], mode
    )


# -- the parent -----------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
        return
    from _util import parse_args

    args = parse_args(__doc__.splitlines()[0])
    steps, hosts, subset = (10_000, 10, 1_000) if args.quick else (100_000, 100, 2_000)
    reps = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="yprov-bench-cluster-") as tmp:
        runs = prepare(Path(tmp), steps, hosts, subset)
        outputs = {mode: Path(tmp) / f"{mode}.prov.json" for mode in runs}
        results = measure(runs, outputs, reps)
        report(results, steps, hosts, subset, reps)
        check(outputs, steps, subset, full=args.quick)


def prepare(tmp: Path, steps: int, hosts: int, subset: int) -> dict[str, Path]:
    runs = {
        "cluster": tmp / "cluster" / RUN_ID,
        "per-job": tmp / "per-job" / RUN_ID,
        "single": tmp / "single" / RUN_ID,
        "ours-subset": tmp / "subset" / RUN_ID,
    }
    t0 = time.perf_counter()
    write_cluster_run(runs["cluster"], steps, hosts)
    write_per_job_run(runs["per-job"], steps, hosts)
    write_single_run(runs["single"], steps, hosts)
    write_cluster_run(runs["ours-subset"], subset, max(1, hosts * subset // steps))
    print(
        f"cluster run: {steps} steps from {hosts} hosts, {hosts} writer journals + the owner's, "
        f"{folder_size(runs['cluster']):.0f} MB; per-job: {steps} one-record journals; single "
        f"journal {folder_size(runs['single']):.0f} MB; subset {subset} steps; written in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return {**runs, "prov": runs["ours-subset"]}


def measure(runs: dict[str, Path], outputs: dict[str, Path], reps: int) -> dict[str, list[Any]]:
    results: dict[str, list[Any]] = {mode: [] for mode in runs}
    for rep in range(reps):
        for mode, run_dir in runs.items():
            phases, rss = run_worker(mode, run_dir, outputs[mode])
            results[mode].append((phases, rss))
            shown = "  ".join(f"{k} {v:.2f} s" for k, v in phases.items())
            print(f"  rep {rep + 1}/{reps} {mode:11s} {shown}  peak RSS {rss:.0f} MiB", flush=True)
    return results


def report(results: dict[str, list[Any]], steps: int, hosts: int, subset: int, reps: int) -> None:
    time_of = {m: median([p["total"] for p, _ in runs if p]) for m, runs in results.items()}
    rss_of = {m: median([r for p, r in runs if p]) for m, runs in results.items()}
    rows = [
        [
            mode,
            subset if mode in ("prov", "ours-subset") else steps,
            time_of[mode],
            spread([p["total"] for p, _ in runs if p]),
            median([p["cpu"] for p, _ in runs if p]),
            f"{rss_of[mode]:.0f}",
        ]
        for mode, runs in results.items()
    ]
    print(f"\nmedians of {reps} repetition(s), each in its own process (read + build + write)")
    headers = ["contender", "steps", "total s", "min..max s", "CPU s", "peak RSS MiB"]
    print_table(headers, rows)
    print(f"cluster assembly, {steps} steps from {hosts} hosts:")
    print(f"  time (s):       {verdict(time_of['cluster'], TARGET_S, at_most=True)}")
    print(f"  peak RSS (MiB): {verdict(rss_of['cluster'], TARGET_RSS_MIB, at_most=True)}")
    for mode in ("cluster", "per-job"):
        print(
            f"  {mode}/single: time {time_of[mode] / time_of['single']:.3f}, "
            f"peak RSS {rss_of[mode] / rss_of['single']:.3f}"
        )
    print(f"  per-job, time (s): {verdict(time_of['per-job'], TARGET_S, at_most=True)}")
    print(
        f"  prov/ours on {subset} steps: {time_of['prov'] / time_of['ours-subset']:.1f}x the "
        f"time, {rss_of['prov'] / rss_of['ours-subset']:.1f}x the peak RSS"
    )


def check(outputs: dict[str, Path], steps: int, subset: int, full: bool) -> None:
    """The cluster document holds every step once and is the single journal's, byte for byte
    (the merge loses and adds nothing); it passes the schema and structure checks of
    `validate` (all of `validate`, prov's round trip too, with `--quick`: at 100,000 steps
    that alone takes minutes and several GiB), and the subset's document passes all of them."""
    from yprov_workflows import validation

    t0 = time.perf_counter()
    single = outputs["single"].read_bytes()
    same = outputs["cluster"].read_bytes() == single == outputs["per-job"].read_bytes()
    del single
    document = json.loads(outputs["cluster"].read_text(encoding="utf-8"))
    found = sum(
        1 for a in document["activity"].values() if a.get("prov:type") == "wfprov:ProcessRun"
    )
    if full:
        problems = list(validation.validate(document).problems)
    else:
        problems = validation._schema_problems(document) + validation._structure_problems(document)
    which = "validate()" if full else "schema + structure checks"
    del document
    subset_report = validation.validate_file(outputs["ours-subset"])
    print(
        f"\ncluster document: {found} step activities (expected {steps}: "
        f"{'yes' if found == steps else 'NO'}); the same bytes as the single journal's "
        "and the per-job one's: "
        f"{'yes' if same else 'NO'}; {which}: {_state(problems)}; subset ({subset} steps) "
        f"validate(): {_state(list(subset_report.problems))} "
        f"({time.perf_counter() - t0:.0f} s, not timed above)"
    )


def _state(problems: list[str]) -> str:
    return "valid" if not problems else f"{len(problems)} problem(s): {problems[:3]}"


if __name__ == "__main__":
    main()
