"""Wall-time overhead of `snakemake --executor yprov` against Snakemake's plain local executor.

Two generated workflows, each run from scratch every repetition (outputs, `.snakemake` and
`.yprov` deleted before each run):

* trivial: 200 independent `touch {output}` jobs plus the target rule `all`;
* cpu: 20 jobs that each burn 1 s of CPU in a Python process, plus `all`.

Variants, interleaved per repetition (plain, yprov, yprov-off, plain, yprov, ...):

* plain:     `snakemake --cores 2`
* yprov:     `snakemake --executor yprov --cores 2`
* yprov-off: the same with `YPROV_DISABLE=1` (the plugin loaded, nothing recorded)

Targets: median yprov/plain wall time <= 1.10 (trivial) and <= 1.02 (cpu). The table also gives
the ratio of the fastest runs ("x plain (min)"), less sensitive to other programs on the machine,
and "CPU s": user + system time of snakemake and every process it reaped (the jobs included), from
`wait4`; it hardly moves when other programs share the cores, so its difference is the recording's
own cost.

"Tail" is the time from the last job output written (newest output mtime) to the exit of
`snakemake`: the part of the overhead that comes after the last job (run end, document assembly).
For yprov runs the journal's `run_end` time and the document's mtime also give the assembly time.

Usage: python benchmarks/bench_snakemake_overhead.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _util import median, parse_args, print_table, spread, verdict

from yprov_workflows.journal import read_journal
from yprov_workflows.records import RunEnd, StepRecord

BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
CORES = "2"
VARIANTS = ("plain", "yprov", "yprov-off")
TARGETS = {"trivial": 1.10, "cpu": 1.02}

TRIVIAL_SNAKEFILE = """\
rule all:
    input: expand("out/{i}.txt", i=range(@N@))

rule make:
    output: "out/{i}.txt"
    shell: "touch {output}"
"""

CPU_SNAKEFILE = """\
rule all:
    input: expand("out/{i}.txt", i=range(@N@))

rule burn:
    output: "out/{i}.txt"
    shell: "@PYTHON@ -S burn.py {output}"
"""

# Checks the CPU clock every 20,000 iterations: the loop burns user time, not clock syscalls.
BURN_SCRIPT = """\
import sys, time
while time.process_time() < 1.0:
    for _ in range(20_000):
        pass
open(sys.argv[1], "w").close()
"""


@dataclass
class Run:
    """One timed `snakemake` run."""

    wall_s: float
    cpu_s: float
    tail_s: float
    assembly_s: float | None = None
    end_gap_s: float | None = None
    doc_steps: int | None = None


@dataclass
class Workflow:
    name: str
    folder: Path
    jobs: int
    runs: dict[str, list[Run]] = field(default_factory=dict)


def make_workflow(root: Path, name: str, jobs: int, folder_name: str | None = None) -> Workflow:
    folder = root / (folder_name or name)
    folder.mkdir()
    template = TRIVIAL_SNAKEFILE if name == "trivial" else CPU_SNAKEFILE
    text = template.replace("@N@", str(jobs)).replace("@PYTHON@", sys.executable)
    (folder / "Snakefile").write_text(text)
    (folder / "burn.py").write_text(BURN_SCRIPT)
    return Workflow(name, folder, jobs, {v: [] for v in VARIANTS})


def clean(folder: Path) -> None:
    for sub in ("out", ".snakemake", ".yprov"):
        shutil.rmtree(folder / sub, ignore_errors=True)


def command(variant: str) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YPROV_")}
    cmd = [SNAKEMAKE, "--cores", CORES]
    if variant != "plain":
        cmd += ["--executor", "yprov"]
    if variant == "yprov-off":
        env["YPROV_DISABLE"] = "1"
    return cmd, env


def run_once(workflow: Workflow, variant: str) -> Run:
    clean(workflow.folder)
    cmd, env = command(variant)
    log = workflow.folder / f"last-{variant}.log"
    with log.open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=workflow.folder, env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        exited = time.time()
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"  ! {workflow.name}/{variant} failed ({status}); see {log}", flush=True)
    cpu = usage.ru_utime + usage.ru_stime  # snakemake and every process it reaped: the jobs
    run = Run(wall_s=wall, cpu_s=cpu, tail_s=exited - newest_output(workflow.folder))
    if variant == "yprov":
        inspect_provenance(workflow.folder, run)
    return run


def newest_output(folder: Path) -> float:
    times = [p.stat().st_mtime for p in (folder / "out").glob("*.txt")]
    return max(times, default=float("nan"))


def inspect_provenance(folder: Path, run: Run) -> None:
    """Count step activities in the document; time from run end to the document written."""
    document = folder / ".yprov" / "latest.prov.json"
    if not document.exists():
        print(f"  ! no yprov document in {folder}/.yprov", flush=True)
        return
    activities = json.loads(document.read_text()).get("activity", {})
    run.doc_steps = sum(1 for a in activities.values() if a.get("prov:type") == "wfprov:ProcessRun")
    records = read_journal(document.resolve().parent / "journal.jsonl").records
    end = next((r for r in records if isinstance(r, RunEnd)), None)
    steps = [r for r in records if isinstance(r, StepRecord)]
    if end is not None and steps:
        run.assembly_s = document.stat().st_mtime - end.ended.timestamp()
        run.end_gap_s = (end.ended - max(s.ended for s in steps)).total_seconds()


def measure(workflows: list[Workflow], reps: int) -> None:
    for rep in range(reps):
        for workflow in workflows:
            for variant in VARIANTS:
                run = run_once(workflow, variant)
                workflow.runs[variant].append(run)
                print(
                    f"  rep {rep + 1}/{reps} {workflow.name:8s} {variant:9s} "
                    f"wall {run.wall_s:7.3f} s  cpu {run.cpu_s:7.3f} s  tail {run.tail_s:6.3f} s",
                    flush=True,
                )


def warm_up(root: Path) -> None:
    """One untimed run of each variant so that imports and byte-code caches are warm."""
    workflow = make_workflow(root, "trivial", 4, folder_name="warmup")
    for variant in VARIANTS:
        run_once(workflow, variant)


def report(workflow: Workflow) -> None:
    print(f"\n{workflow.name}: {workflow.jobs} jobs + target rule, --cores {CORES}")
    plain = workflow.runs["plain"]
    rows = []
    for variant in VARIANTS:
        runs = workflow.runs[variant]
        walls = [r.wall_s for r in runs]
        cpus = [r.cpu_s for r in runs]
        rows.append(
            [
                variant,
                len(runs),
                median(walls),
                spread(walls),
                median(walls) / median([r.wall_s for r in plain]),
                min(walls) / min(r.wall_s for r in plain),
                median(cpus),
                median(cpus) / median([r.cpu_s for r in plain]),
                median([r.tail_s for r in runs]),
            ]
        )
    headers = ["variant", "reps", "median wall s", "min..max s", "x plain", "x plain (min)"]
    print_table([*headers, "CPU s", "CPU x plain", "tail s"], rows)
    yprov = workflow.runs["yprov"]
    ratio = median([r.wall_s for r in yprov]) / median([r.wall_s for r in plain])
    print(f"yprov/plain median wall ratio: {verdict(ratio, TARGETS[workflow.name], at_most=True)}")
    extra_wall = median([r.wall_s for r in yprov]) - median([r.wall_s for r in plain])
    extra_cpu = median([r.cpu_s for r in yprov]) - median([r.cpu_s for r in plain])
    print(
        f"overhead / jobs: {1e3 * extra_wall / workflow.jobs:+.1f} ms wall, "
        f"{1e3 * extra_cpu / workflow.jobs:+.1f} ms CPU (yprov - plain medians, fixed costs in)"
    )
    report_tail(workflow, median([r.wall_s for r in plain]))


def report_tail(workflow: Workflow, plain_wall: float) -> None:
    yprov = workflow.runs["yprov"]
    extra_total = median([r.wall_s for r in yprov]) - plain_wall
    extra_tail = median([r.tail_s for r in yprov]) - median(
        [r.tail_s for r in workflow.runs["plain"]]
    )
    print(
        f"overhead {extra_total:+.3f} s in all, of which {extra_tail:+.3f} s after the last job "
        f"output (tail yprov - tail plain)"
    )
    assembly = [r.assembly_s for r in yprov if r.assembly_s is not None]
    gaps = [r.end_gap_s for r in yprov if r.end_gap_s is not None]
    if assembly:
        print(
            f"yprov: last step end -> run_end {median(gaps):.3f} s; "
            f"run_end -> document written (assembly) {median(assembly):.3f} s"
        )
    expected = workflow.jobs + 1
    found = sorted({r.doc_steps for r in yprov if r.doc_steps is not None})
    status = "OK" if found == [expected] else "UNEXPECTED"
    print(
        f"document check: step activities {found} (expected {expected}: {workflow.jobs} + all) "
        f"{status}"
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    reps = 1 if args.quick else 3
    sizes = {"trivial": 200, "cpu": 6 if args.quick else 20}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="yprov-bench-smk-") as tmp:
        root = Path(tmp)
        print(f"workflows in {root}; {reps} repetition(s) per variant; warming up ...", flush=True)
        warm_up(root)
        workflows = [make_workflow(root, name, n) for name, n in sizes.items()]
        measure(workflows, reps)
        for workflow in workflows:
            report(workflow)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
