"""Assembling a run's PROV-JSON document: our plain-dict builder against `prov.model`.

A synthetic journal of 10,000 steps (2,000 with `--quick`) is written with `JournalWriter`. Each
step reads 2 files (the previous step's output: a chain; and the output of step i // 2: a fan),
writes 1 file, has 3 params, wildcards, resources, a shell command and real-looking usage figures.

Each contender runs in its own subprocess (so its peak RSS is its own), interleaved per repetition
(read, ours, prov, read, ours, prov, ...), and times its phases:

* read:  `read_journal` only (the floor: interpreter, imports and parsed records);
* ours:  `read_journal`, then `build_document` (what `assemble(run_dir)` does after reading),
         then `write_document` (`json.dumps(indent=1)` and an atomic write);
* prov:  `read_journal`, then the same elements, relations and attributes built with
         `prov.model.ProvDocument`, then `doc.serialize(format="json", indent=1)` and a write.

Target: ours at least 5x faster than prov (build + serialize + write, reading excluded; the ratio
with reading included is printed too). Our document is then validated once with
`yprov_workflows.validation.validate` (timed separately, not part of the ratio), and the record
counts of both documents are compared to show that both build the same graph.

Usage: python benchmarks/bench_assembly.py [--quick]
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _util
from _util import median, print_table, spread, verdict

from yprov_workflows import vocabulary as V
from yprov_workflows.assemble import assemble
from yprov_workflows.journal import JournalWriter, read_journal
from yprov_workflows.provjson import build_document
from yprov_workflows.records import (
    Agents,
    Code,
    FileRecord,
    Record,
    RunEnd,
    RunStart,
    StepRecord,
    Usage,
)
from yprov_workflows.runs import journal_path, write_document

TARGET = 5.0
MODES = ("read", "ours", "prov")
RULES = ("align", "sort", "call", "filter", "annotate")
RUN_ID = "20260101T000000Z-abcdef"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# -- the synthetic journal ------------------------------------------------------------------------


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def output_of(i: int) -> FileRecord:
    path = f"results/{RULES[i % len(RULES)]}/sample_{i:05d}.tsv"
    return FileRecord(path=path, sha256=digest(path), size=10_000 + (i * 7919) % 5_000_000)


RAW = FileRecord("data/raw/reads.fastq.gz", digest("raw"), 1_234_567_890)
REFERENCE = FileRecord("data/ref/genome.fa", digest("ref"), 3_100_000_000)


def synthetic_step(i: int) -> StepRecord:
    rule = RULES[i % len(RULES)]
    started = T0 + timedelta(seconds=2 * i + 1)
    first = output_of(i - 1) if i else RAW
    second = output_of(i // 2) if i > 1 else REFERENCE
    out = output_of(i)
    command = (
        f"{rule}-tool --threads 1 --in {first.path} --with {second.path} --out {out.path} "
        f"--threshold {0.01 * (i % 7):.2f} --seed {i} 2> logs/{rule}/{i:05d}.log"
    )
    return StepRecord(
        run_id=RUN_ID,
        name=rule,
        key=str(uuid.uuid5(uuid.NAMESPACE_URL, f"job/{i}")),
        attempt=1,
        started=started,
        ended=started + timedelta(seconds=1.5),
        status="completed",
        inputs=(first, second),
        outputs=(out,),
        params={
            "threshold": round(0.01 * (i % 7), 2),
            "mode": ("fast", "sensitive")[i % 2],
            "seed": i,
        },
        wildcards={"sample": f"{i:05d}"},
        resources={"tmpdir": "/tmp", "mem_mb": 2000, "disk_mb": 1000, "runtime": 30},
        attributes={"threads": 1, "jobid": i + 1},
        code=Code("shell", text=command, sha256=digest(rule)),
        usage=Usage(usage_figures(i), "wait4"),
        host="node-01",
        pid=40_000 + i,
    )


def usage_figures(i: int) -> dict[str, int | float | str | bool]:
    return {
        "wall_s": 1.5,
        "cpu_user_s": 1.2 + (i % 10) / 100,
        "cpu_system_s": 0.05,
        "cpu_total_s": 1.25 + (i % 10) / 100,
        "max_rss_bytes": 50_000_000 + i,
        "read_bytes": 0,
        "write_bytes": 4096 * (i % 13),
        "read_chars": 120_000 + i,
        "written_chars": 10_000 + i,
        "processes": 2,
    }


def synthetic_records(steps: int) -> Iterator[Record]:
    yield RunStart(
        run_id=RUN_ID,
        started=T0,
        agents=Agents("alice", "snakemake", "9.27.1", "0.1.0"),
        workflow_path="/home/alice/project/workflow/Snakefile",
        workflow_sha256=digest("Snakefile"),
        workdir="/home/alice/project",
        command_line=("snakemake", "--executor", "yprov", "--cores", "2"),
        targets=("rule:all",),
        config={"samples": steps, "genome": "GRCh38", "min_quality": 20},
        host="node-01",
    )
    for i in range(steps):
        yield synthetic_step(i)
    yield RunEnd(RUN_ID, T0 + timedelta(seconds=2 * steps + 5), "completed")


def write_journal(run_dir: Path, steps: int) -> float:
    t0 = time.perf_counter()
    with JournalWriter(journal_path(run_dir)) as writer:
        for record in synthetic_records(steps):
            writer.append(record)
    return time.perf_counter() - t0


# -- the baseline: the same graph with prov.model -------------------------------------------------


def prov_document(start: RunStart, steps: list[StepRecord], end: RunEnd | None) -> Any:
    """What our mapping (docs/prov-model.md) gives, built with `prov.model` objects."""
    from prov.model import ProvDocument

    doc = ProvDocument()
    for prefix, uri in V.NAMESPACES.items():
        if prefix not in ("prov", "xsd"):
            doc.add_namespace(prefix, uri)
    seen: set[str] = set()
    agents = prov_agents(doc, start)
    run = prov_run(doc, seen, start, end, agents, len(steps))
    generated: set[str] = set()
    for step in sorted(steps, key=lambda s: (s.started, s.step_id)):
        prov_step(doc, seen, generated, step, run, agents["engine"])
    return doc


def prov_agents(doc: Any, start: RunStart) -> dict[str, str]:
    a = start.agents
    user = V.agent_id("user", a.user)
    engine = V.agent_id(a.engine, a.engine_version)
    recorder = V.agent_id("yprov-workflows", a.recorder_version)
    doc.agent(user, {"prov:type": "prov:Person", "prov:label": a.user})
    doc.agent(
        engine,
        {
            "prov:type": "prov:SoftwareAgent",
            "prov:label": a.engine,
            "ywf:version": a.engine_version,
        },
    )
    doc.agent(
        recorder,
        {
            "prov:type": "prov:SoftwareAgent",
            "prov:label": "yprov-workflows",
            "ywf:version": a.recorder_version,
        },
    )
    doc.actedOnBehalfOf(engine, user)
    return {"user": user, "engine": engine, "recorder": recorder}


def prov_run(
    doc: Any,
    seen: set[str],
    start: RunStart,
    end: RunEnd | None,
    agents: dict[str, str],
    count: int,
) -> str:
    attrs: dict[str, Any] = {
        "prov:type": "wfprov:WorkflowRun",
        "prov:label": f"{start.agents.engine} run {start.run_id}",
        "ywf:run_id": start.run_id,
        "ywf:command_line": json.dumps(list(start.command_line)),
        "ywf:targets": json.dumps(list(start.targets)),
        "ywf:workdir": start.workdir,
        "ywf:host": start.host,
        **{f"config:{V.safe(k)}": v for k, v in start.config.items()},
        "ywf:status": end.status if end else "incomplete",
        "ywf:recording_errors": end.recording_errors if end else None,
        "ywf:steps": count,
        "ywf:duplicate_generations": 0,
    }
    run = V.run_id(start.run_id)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    doc.activity(run, start.started, end.ended if end else None, attrs)
    plan = V.plan_id(
        "workflow", (start.workflow_path or "").rsplit("/", 1)[-1], start.workflow_sha256
    )
    prov_element(
        doc,
        seen,
        plan,
        {
            "prov:type": "prov:Plan",
            "prov:label": start.workflow_path,
            "ywf:path": start.workflow_path,
            "ywf:sha256": start.workflow_sha256,
        },
    )
    doc.wasAssociatedWith(run, agents["engine"], plan, other_attributes={"prov:role": "ywf:engine"})
    doc.wasAssociatedWith(run, agents["user"], other_attributes={"prov:role": "ywf:user"})
    doc.wasAssociatedWith(run, agents["recorder"], other_attributes={"prov:role": "ywf:recorder"})
    return run


def prov_element(doc: Any, seen: set[str], ident: str, attrs: dict[str, Any]) -> str:
    if ident not in seen:
        seen.add(ident)
        doc.entity(ident, {k: v for k, v in attrs.items() if v is not None})
    return ident


def prov_step(
    doc: Any, seen: set[str], generated: set[str], step: StepRecord, run: str, engine: str
) -> None:
    ident = V.step_id(step.step_id)
    doc.activity(ident, step.started, max(step.ended, step.started), prov_step_attrs(step))
    doc.wasStartedBy(ident, starter=run, time=step.started)
    digest_ = step.code.sha256 if step.code else None
    plan = prov_element(
        doc,
        seen,
        V.plan_id("step", step.name, digest_),
        {
            "prov:type": "prov:Plan",
            "prov:label": step.name,
            "ywf:step_name": step.name,
            "ywf:code_sha256": digest_,
        },
    )
    doc.wasAssociatedWith(ident, engine, plan, other_attributes={"prov:role": "ywf:engine"})
    for record in step.inputs:
        entity = prov_file(doc, seen, record)
        doc.used(ident, entity, step.started, other_attributes={"prov:role": "ywf:input"})
    for name, value in step.params.items():
        entity = prov_element(
            doc,
            seen,
            V.param_id(name, json.dumps(value)),
            {"prov:type": "ywf:Parameter", "prov:label": name, "prov:value": value},
        )
        doc.used(ident, entity, step.started, other_attributes={"prov:role": "ywf:parameter"})
    outputs = step.outputs if step.status == "completed" else ()
    for record, role in [(r, "ywf:output") for r in outputs] + [(r, "ywf:log") for r in step.logs]:
        entity = prov_file(doc, seen, record)
        if record.kind != "missing" and entity not in generated:
            generated.add(entity)
            doc.wasGeneratedBy(entity, ident, step.ended, other_attributes={"prov:role": role})


def prov_step_attrs(step: StepRecord) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "prov:type": "wfprov:ProcessRun",
        "prov:label": f"{step.name} (attempt {step.attempt})",
        "ywf:step_name": step.name,
        "ywf:job_key": step.key,
        "ywf:attempt": step.attempt,
        "ywf:status": step.status,
        "ywf:error": step.error,
        "ywf:exit_code": step.exit_code,
        "ywf:host": step.host,
        "ywf:pid": step.pid,
    }
    if step.code is not None:
        attrs.update(
            {
                "ywf:code_kind": step.code.kind,
                "ywf:command": step.code.text,
                "ywf:script": step.code.path,
                "ywf:code_sha256": step.code.sha256,
            }
        )
    attrs.update({f"wildcard:{V.safe(k)}": v for k, v in step.wildcards.items()})
    attrs.update({f"resource:{V.safe(k)}": v for k, v in step.resources.items()})
    attrs.update({f"ywf:{V.safe(k)}": v for k, v in step.attributes.items()})
    attrs["ywf:usage_source"] = step.usage.source
    attrs["ywf:usage_note"] = step.usage.note
    attrs.update({f"ywf:{V.safe(k)}": v for k, v in step.usage.figures.items()})
    return {k: v for k, v in attrs.items() if v is not None}


def prov_file(doc: Any, seen: set[str], record: FileRecord) -> str:
    attrs: dict[str, Any] = {
        "prov:type": "ywf:File" if record.kind != "directory" else "ywf:Directory",
        "prov:label": record.path,
        "ywf:path": record.path,
        "ywf:sha256": record.sha256,
        "ywf:size_bytes": record.size,
    }
    if record.kind == "missing":
        attrs["ywf:missing"] = True
    return prov_element(doc, seen, V.artifact_id(record.path, record.sha256), attrs)


# -- the worker: one contender in its own process -------------------------------------------------


def split(records: tuple[Record, ...]) -> tuple[RunStart, list[StepRecord], RunEnd | None]:
    start = next(r for r in records if isinstance(r, RunStart))
    steps = [r for r in records if isinstance(r, StepRecord)]
    end = next((r for r in records if isinstance(r, RunEnd)), None)
    return start, steps, end


def worker(mode: str, run_dir: Path, out: Path) -> dict[str, float]:
    """Time the phases of one contender; the parent reads the result from stdout."""
    t0 = time.perf_counter()
    start, steps, end = split(read_journal(journal_path(run_dir)).records)
    t1 = time.perf_counter()
    phases = {"read": t1 - t0}
    if mode == "ours":
        document = build_document(start, steps, end)
        t2 = time.perf_counter()
        write_document(out, document)
    elif mode == "prov":
        prov_doc = prov_document(start, steps, end)
        t2 = time.perf_counter()
        out.write_text(prov_doc.serialize(format="json", indent=1), encoding="utf-8")
    else:
        return phases
    phases["build"] = t2 - t1
    phases["write"] = time.perf_counter() - t2
    return phases


def run_worker(mode: str, run_dir: Path, out: Path) -> tuple[dict[str, float], float]:
    """Phases and peak RSS (MiB) of one worker subprocess."""
    return _util.run_worker(
        [sys.executable, __file__, "--worker", mode, str(run_dir), str(out)], mode
    )


# -- the parent: repetitions and report -----------------------------------------------------------


def measure(run_dir: Path, outputs: dict[str, Path], reps: int) -> dict[str, list[Any]]:
    results: dict[str, list[Any]] = {mode: [] for mode in MODES}
    for rep in range(reps):
        for mode in MODES:
            phases, rss = run_worker(mode, run_dir, outputs[mode])
            results[mode].append((phases, rss))
            shown = "  ".join(f"{k} {v:.3f} s" for k, v in phases.items())
            print(f"  rep {rep + 1}/{reps} {mode:4s} {shown}  peak RSS {rss:.0f} MiB", flush=True)
    return results


def phase(results: list[Any], name: str) -> list[float]:
    return [phases[name] for phases, _ in results if name in phases]


def report(results: dict[str, list[Any]], outputs: dict[str, Path]) -> None:
    rows = []
    for mode in MODES:
        runs = results[mode]
        work = [p.get("build", 0.0) + p.get("write", 0.0) for p, _ in runs]
        total = [p["read"] + p.get("build", 0.0) + p.get("write", 0.0) for p, _ in runs]
        size = outputs[mode].stat().st_size / 1e6 if outputs[mode].exists() else 0.0
        rows.append(
            [
                mode,
                len(runs),
                median(phase(runs, "read")),
                median(phase(runs, "build")) if mode != "read" else "-",
                median(phase(runs, "write")) if mode != "read" else "-",
                median(work) if mode != "read" else "-",
                spread(work) if mode != "read" else "-",
                median(total),
                f"{median([rss for _, rss in runs]):.0f}",
                f"{size:.1f}" if mode != "read" else "-",
            ]
        )
    headers = ["mode", "reps", "read s", "build s", "write s", "build+write s", "min..max s"]
    print_table([*headers, "total s", "peak RSS MiB", "doc MB"], rows)
    ratios(results)


def ratios(results: dict[str, list[Any]]) -> None:
    def work(mode: str, with_read: bool) -> float:
        runs = results[mode]
        return median(
            [p["build"] + p["write"] + (p["read"] if with_read else 0.0) for p, _ in runs]
        )

    excl = work("prov", False) / work("ours", False)
    incl = work("prov", True) / work("ours", True)
    floor = median([rss for _, rss in results["read"]])
    ours_rss = median([rss for _, rss in results["ours"]])
    prov_rss = median([rss for _, rss in results["prov"]])
    shown = verdict(excl, TARGET, at_most=False)
    print(f"speed-up prov/ours, build + write (reading excluded): {shown}")
    print(f"speed-up prov/ours, read + build + write:             {incl:.3f}")
    print(
        f"peak RSS above the read-only floor ({floor:.0f} MiB): ours +{ours_rss - floor:.0f} MiB, "
        f"prov +{prov_rss - floor:.0f} MiB ({(prov_rss - floor) / max(ours_rss - floor, 1):.1f}x)"
    )


def record_counts(document: dict[str, Any]) -> Counter[str]:
    """Records per PROV type; prov writes records sharing an identifier as a list."""
    counts: Counter[str] = Counter()
    for kind, records in document.items():
        if kind == "prefix" or not isinstance(records, dict):
            continue
        counts[kind] = sum(len(v) if isinstance(v, list) else 1 for v in records.values())
    return counts


def compare_and_validate(outputs: dict[str, Path]) -> None:
    from yprov_workflows.validation import validate

    t0 = time.perf_counter()
    ours = json.loads(outputs["ours"].read_text())
    load_s = time.perf_counter() - t0
    prov = json.loads(outputs["prov"].read_text())
    mine, theirs = record_counts(ours), record_counts(prov)
    print("\nrecords per type (the same graph in both documents?)")
    rows = [[kind, mine[kind], theirs[kind]] for kind in sorted(mine | theirs)]
    print_table(["record type", "ours", "prov"], rows)
    print(f"same record counts: {'yes' if mine == theirs else 'NO'}")
    t0 = time.perf_counter()
    result = validate(ours)
    validate_s = time.perf_counter() - t0
    state = "valid" if result.ok else f"{len(result.problems)} problem(s): {result.problems[:3]}"
    print(
        f"validation of our document: {state}; json.load {load_s:.3f} s, "
        f"validate() {validate_s:.3f} s (not part of the ratio)"
    )


def check_assemble(run_dir: Path) -> None:
    """`assemble(run_dir)` end to end, once: the product's entry point for the phases above.

    Also times `json.dumps` as `write_document` calls it (`indent=1`, which makes the json module
    use its pure-Python encoder) against the compact form (its C encoder).
    """
    t0 = time.perf_counter()
    document = assemble(run_dir)
    t1 = time.perf_counter()
    text = json.dumps(document, indent=1, ensure_ascii=False)
    t2 = time.perf_counter()
    compact = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    t3 = time.perf_counter()
    print(
        f"\nin-process, once: assemble(run_dir) {t1 - t0:.3f} s (read + build); json.dumps "
        f"indent=1 {t2 - t1:.3f} s ({len(text) / 1e6:.1f} MB), compact {t3 - t2:.3f} s "
        f"({len(compact) / 1e6:.1f} MB)"
    )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        phases = worker(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        print(json.dumps(phases))
        return
    from _util import parse_args

    args = parse_args(__doc__.splitlines()[0])
    steps = 2_000 if args.quick else 10_000
    reps = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="yprov-bench-asm-") as tmp:
        run_dir = Path(tmp) / RUN_ID
        write_s = write_journal(run_dir, steps)
        size = journal_path(run_dir).stat().st_size / 1e6
        print(
            f"journal: {steps} steps, {size:.1f} MB, written with JournalWriter in {write_s:.2f} s"
        )
        outputs = {mode: Path(tmp) / f"{mode}.prov.json" for mode in MODES}
        results = measure(run_dir, outputs, reps)
        print(
            f"\n{steps} steps, medians of {reps} repetition(s), each contender in its own process"
        )
        report(results, outputs)
        check_assemble(run_dir)
        compare_and_validate(outputs)


if __name__ == "__main__":
    main()
