"""Failures, retries and recording problems: the workflow behaves exactly as without provenance."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

from smk_helpers import latest, ok, snakemake, write_workflow

from snakemake_executor_plugin_yprov.failures import (
    MAX_ERROR,
    TAIL_BYTES,
    TAIL_LINES,
    bounded,
    describe,
)
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


ERRORS = r'''
rule all:
    input: "run.txt", "script.txt", "shell.txt"

rule in_run:
    output: "run.txt"
    run:
        try:
            {}["missing"]
        except KeyError:
            raise ValueError("bad input\nsee line two")

rule in_script:
    output: "script.txt"
    log: "logs/script.log"
    script: "scripts/fail.py"

rule in_shell:
    output: "shell.txt"
    log: "logs/shell.log"
    shell:
        """
        echo first > {log}
        echo second >> {log}
        exit 4
        """
'''
FAIL_PY = """
import sys
sys.stderr = open(snakemake.log[0], "w")
raise RuntimeError("script broke")
"""


def test_each_kind_of_job_records_its_real_error(workdir: Path) -> None:
    """`run:` (in its own Snakemake process), `script:` and multi-line `shell:` failures."""
    write_workflow(workdir, ERRORS, {"scripts/fail.py": FAIL_PY})
    result = snakemake(workdir, "--keep-going")
    assert result.returncode == 1
    assert "ValueError in file" in result.stderr, "the job's own output is unchanged"
    run = latest(workdir)
    errors = {
        s["ywf:step_name"]: s["ywf:error"] for s in run.steps() if s["ywf:status"] == "failed"
    }
    assert errors["in_run"] == "ValueError: bad input\nsee line two"
    script = errors["in_script"]
    assert script.startswith("script scripts/fail.py failed: exit status 1\n"), script
    assert script.endswith("RuntimeError: script broke"), "the end of the job's log"
    assert ".snakemake/scripts" not in script.split("\n")[0]
    shell = errors["in_shell"]
    assert "echo second >> logs/shell.log\n        exit 4' returned non-zero exit status 4" in shell
    assert shell.endswith("last lines of logs/shell.log:\nfirst\nsecond")
    (in_shell,) = run.steps("in_shell")
    assert in_shell["ywf:command"].strip().splitlines()[-1].strip() == "exit 4"
    assert run.steps("in_script")[0]["ywf:script"] == "scripts/fail.py"


def test_a_run_block_in_a_thread_records_its_real_error(workdir: Path) -> None:
    write_workflow(workdir, ERRORS, {"scripts/fail.py": FAIL_PY})
    assert snakemake(workdir, "--force-use-threads", "run.txt").returncode == 1
    (step,) = latest(workdir).steps("in_run")
    assert step["ywf:error"] == "ValueError: bad input\nsee line two"
    assert step["ywf:usage_source"] == "wait4+thread_time", "it ran in a thread"


def test_error_texts_are_bounded_keeping_start_and_end() -> None:
    text = "start " + "x" * 10_000 + " end"
    cut = bounded(text)
    assert len(cut) <= MAX_ERROR
    assert cut.startswith("start ") and cut.endswith(" end") and "characters left out" in cut
    assert bounded("short") == "short"


def test_a_long_log_adds_only_its_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("".join(f"line {i} " + "y" * 200 + "\n" for i in range(1000)))
    job = SimpleNamespace(rule=SimpleNamespace(script=None, wrapper=None, notebook=None))
    error = describe(job, subprocess.CalledProcessError(2, "make all"), [str(log)])
    head, tail = error.split(f"\nlast lines of {log}:\n")
    assert head == "CalledProcessError: Command 'make all' returned non-zero exit status 2."
    lines = tail.splitlines()
    assert 1 <= len(lines) <= TAIL_LINES and len(tail) <= TAIL_BYTES
    assert lines[-1].startswith("line 999 ") and all(line.startswith("line ") for line in lines)


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
