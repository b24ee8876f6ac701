"""Usage figures are exact: short-lived children count, peak memory is the real peak."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

from smk_helpers import latest, ok, snakemake, write_workflow

# Fixed work, no interpreter caches: a bash counting loop costs the same CPU every time.
TRUTH = """
import json, resource, subprocess, sys
loop = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"
for _ in range(10):
    subprocess.run(["bash", "-c", loop], check=True)
touch = "b = bytearray(300 * 2**20); b[::4096] = b'x' * (len(b) // 4096)"
subprocess.run([sys.executable, "-c", touch], check=True)
usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
cpu = sum(u.ru_utime + u.ru_stime for u in usage)
rss = max(u.ru_maxrss for u in usage) * 1024
json.dump({"cpu": cpu, "rss": rss}, open(sys.argv[1], "w"))
"""


def test_short_lived_children_and_peak_memory_are_measured_exactly(workdir: Path) -> None:
    """The job measures itself (its own and its reaped children's rusage) while it runs: the
    recorded figures must match that, whatever else the machine was doing."""
    write_workflow(
        workdir,
        f"rule burn:\n    output: 'truth.json'\n"
        f"    shell: '{sys.executable} truth.py {{output}}'\n",
        {"truth.py": TRUTH},
    )
    ok(snakemake(workdir))
    step = latest(workdir).steps("burn")[0]
    truth = json.loads((workdir / "truth.json").read_text())
    assert step["ywf:usage_source"] == "wait4"
    assert step["ywf:cpu_total_s"] >= truth["cpu"], "the shell around the job only adds"
    assert step["ywf:cpu_total_s"] <= truth["cpu"] * 1.05 + 0.02, (step, truth)
    assert abs(step["ywf:max_rss_bytes"] - truth["rss"]) <= 0.05 * truth["rss"], (step, truth)
    assert step["ywf:max_rss_bytes"] >= 300 * 2**20
    # gauges from the sampler process, which followed the job's processes as they started;
    # figures that this machine cannot give say why (no GPU library or GPU; no readable RAPL)
    assert step["ywf:source_gauges"].startswith("sampled from /proc")
    assert step["ywf:sampled_processes_max"] >= 2  # the shell and its python
    assert step["ywf:sampled_rss_bytes_max"] <= step["ywf:max_rss_bytes"] * 1.05
    assert step["ywf:missing_gpu"] and step["ywf:missing_cpu_energy"]
    assert latest(workdir).run["ywf:total_cpu_total_s"] == step["ywf:cpu_total_s"]


def test_pipe_groups_run_and_pipes_are_not_read(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule all:
            input: "sum.txt"
        rule produce:
            output: pipe("stream.txt")
            shell: "seq 1 1000 > {output}"
        rule consume:
            input: "stream.txt"
            output: "sum.txt"
            shell: "awk '{{s+=$1}} END {{print s}}' {input} > {output}"
        """,
    )
    ok(snakemake(workdir, timeout=120))
    assert (workdir / "sum.txt").read_text().strip() == "500500"
    run = latest(workdir)
    assert {s["ywf:step_name"] for s in run.steps()} == {"all", "produce", "consume"}
    stream = [e for e in run.doc["entity"].values() if e.get("ywf:path") == "stream.txt"]
    assert stream and "ywf:sha256" not in stream[0]


def test_local_wrapper_jobs_are_measured(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule wrapped:
            output: "w.txt"
            params: greeting="hello"
            wrapper: "file:wrappers/greet"
        """,
        {
            "wrappers/greet/wrapper.py": (
                "from snakemake.shell import shell\n"
                "shell('echo {snakemake.params.greeting} > {snakemake.output[0]}')\n"
            ),
        },
    )
    # Without conda, Snakemake cannot hash a wrapper's environment for its metadata: skip that.
    ok(snakemake(workdir, "--drop-metadata"))
    step = latest(workdir).steps("wrapped")[0]
    assert step["ywf:code_kind"] == "wrapper"
    assert step["ywf:usage_source"] == "wait4" and step["ywf:processes"] == 1
    assert (workdir / "w.txt").read_text().strip() == "hello"


def test_the_sampler_is_configured_from_the_command_line(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule all:
            input: "a.txt", "b.txt"
        rule slow:
            output: "{name}.txt"
            shell: "sleep 1.2; echo {wildcards.name} > {output}"
        """,
    )
    ok(snakemake(workdir, "--yprov-series-after", "1", "--yprov-sample-tick", "0.5"))
    run = latest(workdir)
    for step in run.steps("slow"):
        assert "every 0.5 s" in step["ywf:source_gauges"]
        (series,) = [
            e
            for e in run.doc["entity"].values()
            if e.get("prov:type") == "ywf:UsageTimeSeries"
            and e["ywf:path"].endswith(f"slow-{step['ywf:jobid']}-1.csv.gz")
        ]
        with gzip.open(workdir / series["ywf:path"], "rt") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) >= 8 and float(rows[-1]["t_s"]) >= 1.0  # 0.1 s ticks at first
        assert series["ywf:sha256"] and series["ywf:size_bytes"] > 0
    ok(snakemake(workdir, "--forceall", "--yprov-sample-tick", "0"))
    for step in latest(workdir).steps("slow"):
        assert step["ywf:missing_gauges"] == "sampling is off (YPROV_SAMPLE_TICK=0)"
        assert "ywf:sampled_rss_bytes_max" not in step
