"""Failures, retries and recording problems: the workflow behaves exactly as without provenance."""

from __future__ import annotations

from pathlib import Path

from smk_helpers import latest, ok, snakemake, write_workflow

from yprov_workflows.testing import RunDocument

FAILING = """
rule all:
    input: "good.txt", "bad.txt"

rule good:
    output: "good.txt"
    shell: "echo fine > {output}"

rule bad:
    input: "good.txt"
    output: "bad.txt"
    shell: "echo partial > {output}; exit 3"
"""


def test_failed_job_is_recorded_with_its_error_and_no_outputs(workdir: Path) -> None:
    write_workflow(workdir, FAILING)
    result = snakemake(workdir)
    assert result.returncode == 1, "the same exit code as plain Snakemake"
    assert not (workdir / "bad.txt").exists(), "Snakemake deleted the partial output"
    run = latest(workdir)
    assert run.run["ywf:status"] == "failed"
    bad = run.steps("bad")[0]
    assert bad["ywf:status"] == "failed"
    assert bad["ywf:exit_code"] == 3
    assert "exit status 3" in bad["ywf:error"]
    assert run.outputs_of(bad) == set(), "deleted outputs are not claimed as generated"
    assert run.inputs_of(bad) == {"good.txt"}
    assert run.steps("good")[0]["ywf:status"] == "completed"


def test_plain_snakemake_fails_the_same_way(workdir: Path) -> None:
    write_workflow(workdir, FAILING)
    plain = snakemake(workdir, executor="local")
    assert plain.returncode == 1
    assert not (workdir / ".yprov").exists()


def test_bash_strict_mode_prefix_is_kept(workdir: Path) -> None:
    """The shim is named like the shell, so Snakemake still prepends `set -euo pipefail`."""
    write_workflow(workdir, 'rule a:\n    output: "a"\n    shell: "false | cat; touch {output}"\n')
    assert snakemake(workdir).returncode == 1
    assert snakemake(workdir, executor="local").returncode == 1


def test_retries_give_one_activity_per_attempt(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule flaky:
            output: "out.txt"
            shell: "if [ -e tried ]; then echo ok > {output}; else touch tried; exit 1; fi"
        """,
    )
    ok(snakemake(workdir, "--retries", "2"))
    run = latest(workdir)
    attempts = run.steps("flaky")
    assert [(s["ywf:attempt"], s["ywf:status"]) for s in attempts] == [
        (1, "failed"),
        (2, "completed"),
    ]
    assert attempts[0]["ywf:job_key"] == attempts[1]["ywf:job_key"]
    assert run.outputs_of(attempts[1]) == {"out.txt"}
    assert run.run["ywf:status"] == "completed"


def test_up_to_date_jobs_are_not_recorded_again(workdir: Path) -> None:
    write_workflow(workdir, 'rule a:\n    output: "a"\n    shell: "touch {output}"\n')
    ok(snakemake(workdir))
    first = latest(workdir)
    result = ok(snakemake(workdir))
    assert "Nothing to be done" in result.stderr
    assert len(first.steps()) == 1
    runs = [p for p in (workdir / ".yprov").iterdir() if not p.is_symlink()]
    assert len(runs) == 1, "a run that executed nothing leaves no record"
    assert RunDocument.latest(workdir).doc == first.doc


def test_unwritable_output_folder_warns_once_and_the_workflow_succeeds(workdir: Path) -> None:
    write_workflow(workdir, 'rule a:\n    output: "a"\n    shell: "touch {output}"\n')
    (workdir / "blocker").write_text("a file where the output folder should go")
    result = ok(snakemake(workdir, "--yprov-out", "blocker/prov", strict=False))
    assert (workdir / "a").exists()
    warnings = [line for line in result.stderr.splitlines() if "yprov-workflows:" in line]
    assert len(warnings) == 1, warnings
    assert "failed" in warnings[0] and "blocker" in warnings[0]


def test_strict_mode_turns_a_recording_error_into_a_failed_run(workdir: Path) -> None:
    write_workflow(workdir, 'rule a:\n    output: "a"\n    shell: "touch {output}"\n')
    (workdir / "blocker").write_text("")
    result = snakemake(workdir, "--yprov-out", "blocker/prov", strict=True)
    assert result.returncode != 0
    assert "blocker" in result.stderr


def test_disable_variable_turns_recording_off(workdir: Path) -> None:
    write_workflow(workdir, 'rule a:\n    output: "a"\n    shell: "touch {output}"\n')
    result = ok(snakemake(workdir, env={"YPROV_DISABLE": "1"}))
    assert (workdir / "a").exists()
    assert not (workdir / ".yprov").exists()
    assert "recording is off" in result.stderr


def test_output_folder_option_is_honoured(workdir: Path) -> None:
    write_workflow(workdir, 'rule a:\n    output: "a"\n    shell: "touch {output}"\n')
    ok(snakemake(workdir, "--yprov-out", "provenance"))
    document = RunDocument.latest(workdir, out="provenance")
    document.assert_valid()
    assert document.path is not None and document.path.resolve().name.endswith(".prov.json")
    run_id = document.run["ywf:run_id"]
    assert (workdir / "provenance" / run_id / f"{run_id}.prov.json").is_file()
