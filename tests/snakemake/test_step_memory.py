"""A step's peak RSS is its own processes', not Snakemake's (nor a Snakefile's big table)."""

from __future__ import annotations

from pathlib import Path

from smk_helpers import latest, ok, snakemake, write_workflow

MIB = 2**20

SNAKEFILE = """
TABLE = bytearray(300 * 2**20)
TABLE[::4096] = b"x" * (len(TABLE) // 4096)

rule all:
    input: "hi.txt", "big.txt", "count.txt"

rule hi:
    output: "hi.txt"
    shell: "echo hi > {output}"

rule count:
    input: "hi.txt"
    output: "count.txt"
    shell: "cat {input} | wc -c > {output}"

rule big:
    output: "big.txt"
    shell:
        "python3 -c 'b = bytearray(300 * 2**20); b[::4096] = b\\"x\\" * (len(b) // 4096)' "
        "&& echo ok > {output}"
"""


def test_peak_rss_is_the_steps_own_next_to_a_300_mib_snakefile(workdir: Path) -> None:
    write_workflow(workdir, SNAKEFILE)
    ok(snakemake(workdir))
    run = latest(workdir)
    small = [run.steps(name)[0]["ywf:max_rss_bytes"] for name in ("hi", "count")]
    assert all(rss < 16 * MIB for rss in small), [rss / MIB for rss in small]
    (big,) = run.steps("big")
    assert 300 * MIB <= big["ywf:max_rss_bytes"] < 345 * MIB
    assert run.run["ywf:max_step_rss_bytes"] == big["ywf:max_rss_bytes"]
