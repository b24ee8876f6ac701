"""GPU check: record a step that keeps an NVIDIA GPU busy for about 10 s, and compare what the
recorder says with what `nvidia-smi` saw meanwhile.

Two runs, each a child process doing bf16 matrix products with PyTorch:

1. core API: a `Recorder` and the sampler (`Monitor`/`Watch`) around the child, as an engine
   adapter would use them; exact counters from `wait4`;
2. the Snakemake plugin: `snakemake --executor yprov` running the same program as a rule (skipped
   when Snakemake is not installed).

For each: the step's recorded GPU energy, mean power, mean utilisation and peak process GPU memory,
next to the same figures from `nvidia-smi` polled once a second in a thread of this script (mean
power integrated over the polling time for its energy). Every document is validated.

Usage: python benchmarks/gpu_check.py [--seconds 10]
Needs an NVIDIA GPU, its driver, PyTorch with CUDA, and `nvidia-ml-py`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from yprov_workflows.values import Value

CHILD = """
import sys, time, torch
seconds = float(sys.argv[1])
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
end = time.time() + seconds
while time.time() < end:
    for _ in range(20):
        c = a @ b
    torch.cuda.synchronize()
print("child done", float(c[0, 0]))
"""


@dataclass
class SmiView:
    """What nvidia-smi reported while the step ran."""

    times: list[float] = field(default_factory=list)
    power_w: list[float] = field(default_factory=list)
    util_pct: list[float] = field(default_factory=list)
    proc_mem_mib: list[float] = field(default_factory=list)

    def energy_j(self) -> float:
        pairs = itertools.pairwise(zip(self.times, self.power_w, strict=True))
        return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in pairs)


def poll_smi(view: SmiView, stop: threading.Event) -> None:
    query = [
        "nvidia-smi",
        "--query-gpu=power.draw,utilization.gpu",
        "--format=csv,noheader,nounits",
    ]
    apps = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
    while not stop.is_set():
        t = time.monotonic()
        power, util = subprocess.run(query, capture_output=True, text=True).stdout.split(",")[:2]
        used = subprocess.run(apps, capture_output=True, text=True).stdout.strip().splitlines()
        view.times.append(t)
        view.power_w.append(float(power))
        view.util_pct.append(float(util))
        view.proc_mem_mib.append(sum(float(line.split(",")[1]) for line in used if "," in line))
        stop.wait(1.0)


def smi_line(view: SmiView) -> str:
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    return (
        f"nvidia-smi: energy {view.energy_j():8.1f} J  mean power {mean(view.power_w):6.1f} W  "
        f"mean util {mean(view.util_pct):5.1f} %  peak process memory "
        f"{max(view.proc_mem_mib, default=0):8.0f} MiB  ({len(view.times)} polls)"
    )


def recorded_line(step: dict[str, object]) -> str:
    gpus = sorted({k.split("_", 1)[0] for k in step if k.startswith("ywf:gpu") and "_uuid" in k})
    if not gpus:
        return f"recorded: no GPU figures; missing: {step.get('ywf:missing_gpu')}"
    lines = []
    for gpu in gpus:
        g = {k[len(gpu) + 1 :]: v for k, v in step.items() if k.startswith(f"{gpu}_")}
        mem = g.get("proc_mem_bytes_max") or 0
        lines.append(
            f"recorded  : energy {g.get('energy_j')} J  mean power {g.get('power_w_mean')} W  "
            f"mean util {g.get('util_pct_mean')} %  peak process memory "
            f"{float(mem) / 2**20:8.0f} MiB  ({g.get('power_w_count')} samples; energy from "
            f"{step.get(f'ywf:source_{gpu[4:]}_energy')}; {g.get('name')} {g.get('uuid')}; "
            f"{g.get('attribution')})"
        )
    return "\n".join(lines)


def core_run(workdir: Path, child: Path, seconds: float) -> Path:
    from yprov_workflows.recorder import Recorder
    from yprov_workflows.records import Agents, RunStart, StepRecord, Usage
    from yprov_workflows.settings import Settings
    from yprov_workflows.usage.combine import with_sampled
    from yprov_workflows.usage.monitor import Monitor
    from yprov_workflows.usage.process import reap
    from yprov_workflows.usage.watch import SeriesPlan, Watch

    settings = Settings(out_dir=workdir / ".yprov", sample_tick_s=1.0, series_after_s=5.0)
    recorder = Recorder(settings, workdir / ".yprov")
    agents = Agents(os.environ.get("USER", "root"), "gpu_check", "0", "dev")
    recorder.start(RunStart("gpu-check", datetime.now(UTC), agents))
    monitor = Monitor(settings.sample_tick_s)
    assert recorder.run_dir is not None
    plan = SeriesPlan(recorder.run_dir / "series" / "matmul.csv", settings.series_after_s)
    watch = Watch(monitor, "matmul", recorder.guard, plan)
    started, t0 = datetime.now(UTC), time.monotonic()
    watch.start([])
    process = subprocess.Popen([sys.executable, str(child), str(seconds)])
    watch.add_root(process.pid)
    _, status, usage = reap(process.pid, 0)
    sampled, series = watch.stop(time.monotonic() - t0, recorder.hasher)
    monitor.close()
    cpu = round(usage.cpu_user_s + usage.cpu_system_s, 3) if usage else None
    figures: dict[str, Value] = {"cpu_total_s": cpu} if cpu is not None else {}
    step = StepRecord(
        run_id="gpu-check",
        name="matmul",
        key="matmul",
        attempt=1,
        started=started,
        ended=datetime.now(UTC),
        status="completed" if status == 0 else "failed",
        usage=with_sampled(Usage(figures, "wait4"), sampled, series),
    )
    recorder.record_step(step)
    document = recorder.finish("completed")
    assert document is not None
    return document


def snakemake_run(workdir: Path, child: Path, seconds: float) -> Path | None:
    if shutil.which("snakemake") is None and not _has_module("snakemake"):
        print("snakemake: not installed here, skipped")
        return None
    (workdir / "Snakefile").write_text(
        textwrap.dedent(
            f"""
            rule matmul:
                output: "done.txt"
                shell: "{sys.executable} {child} {seconds} > {{output}}"
            """
        )
    )
    env = dict(os.environ, YPROV_SERIES_AFTER="5")
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov", "-c1", "--quiet"]
    subprocess.run(command, cwd=workdir, env=env, check=True)
    return workdir / ".yprov" / "latest.prov.json"


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def check(label: str, document: Path, view: SmiView) -> None:
    from yprov_workflows.validation import validate_file

    report = validate_file(document)
    doc = json.loads(document.read_text())
    steps = [a for a in doc["activity"].values() if a.get("prov:type") == "wfprov:ProcessRun"]
    series = [e for e in doc["entity"].values() if e.get("prov:type") == "ywf:UsageTimeSeries"]
    print(f"\n== {label}: {document}  (valid: {report.ok})")
    if not report.ok:
        print(report)
    for step in steps:
        print(recorded_line(step))
        energy = step.get("ywf:cpu_package_energy_j", step.get("ywf:missing_cpu_energy"))
        print(f"cpu_total_s {step.get('ywf:cpu_total_s')}; cpu energy: {energy}")
    print(f"time series: {[e.get('ywf:path') for e in series]}")
    print(smi_line(view))


@contextmanager
def polling() -> Iterator[SmiView]:
    view, stop = SmiView(), threading.Event()
    poller = threading.Thread(target=poll_smi, args=(view, stop), daemon=True)
    poller.start()
    try:
        yield view
    finally:
        stop.set()
        poller.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="yprov-gpu-") as tmp:
        child = Path(tmp) / "matmul.py"
        child.write_text(CHILD)
        (Path(tmp) / "core").mkdir()
        with polling() as view:
            document = core_run(Path(tmp) / "core", child, args.seconds)
        check("core API", document, view)
        (Path(tmp) / "smk").mkdir()
        with polling() as view:
            found = snakemake_run(Path(tmp) / "smk", child, args.seconds)
        if found is not None:
            check("snakemake --executor yprov", found, view)


if __name__ == "__main__":
    main()
