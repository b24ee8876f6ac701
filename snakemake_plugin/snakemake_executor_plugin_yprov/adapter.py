"""Translate Snakemake objects into yprov-workflows core records. Knows Snakemake, not PROV."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from yprov_workflows import __version__
from yprov_workflows.environment import HOST, current_user, file_sha256
from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import Agents, Code, FileRecord, RunStart
from yprov_workflows.redaction import Redactor
from yprov_workflows.values import Value, to_value, typed_mapping


def run_start(workflow: Any, run_id: str, started: datetime, redactor: Redactor) -> RunStart:
    """The opening record of a Snakemake run."""
    import snakemake

    snakefile = str(workflow.main_snakefile)
    return RunStart(
        run_id=run_id,
        started=started,
        agents=Agents(current_user(), "snakemake", snakemake.__version__, __version__),
        workflow_path=snakefile,
        workflow_sha256=file_sha256(snakefile),
        workdir=str(workflow.workdir_init),
        command_line=tuple(sys.argv),
        targets=_targets(workflow),
        config=run_config(workflow, redactor),
        host=HOST,
    )


def run_config(workflow: Any, redactor: Redactor) -> dict[str, Value]:
    """The workflow's config (from config files and `--config`), secrets hidden at any depth."""
    return typed_mapping(dict(workflow.config), redactor)


def _targets(workflow: Any) -> tuple[str, ...]:
    dag = getattr(workflow, "dag", None)
    files = sorted(str(f) for f in (getattr(dag, "targetfiles", None) or ()))
    rules = sorted(str(r) for r in (getattr(dag, "targetrules", None) or ()))
    return tuple(files + [f"rule:{r}" for r in rules])


def job_key(job: Any) -> str:
    """Snakemake's stable identity of a job: the same rule and wildcards give the same key."""
    return str(job.uuid())


def files(
    hasher: FileHasher, paths: Iterable[Any], base: str | None = None
) -> tuple[FileRecord, ...]:
    """File records for the given paths (normalised, as directory members are named), read from
    `base` (a shadow folder) when set."""
    plain = [os.path.normpath(str(p)) for p in paths]
    return tuple(hasher.record(p, location=_located(p, base)) for p in plain)


def _located(path: str, base: str | None) -> str | None:
    return os.path.join(base, path) if base and not os.path.isabs(path) else None


def logs(job: Any) -> list[str]:
    """Where the job's log files are while it runs (in its shadow folder, if it has one)."""
    return [_located(str(p), job.shadow_dir) or str(p) for p in job.log]


def benchmarks(job: Any) -> list[str]:
    """The job's benchmark file: Snakemake writes it outside any shadow folder once the job's
    code succeeded, before the job's worker ends."""
    benchmark = getattr(job, "benchmark", None)
    return [str(benchmark)] if benchmark else []


def params(job: Any, redactor: Redactor) -> dict[str, Value]:
    """Named params keep their names; positional ones are called `_0`, `_1`, ..."""
    named = dict(job.params.items())
    named_ids = {id(v) for v in named.values()}
    positional = {f"_{i}": v for i, v in enumerate(job.params) if id(v) not in named_ids}
    return typed_mapping({**positional, **named}, redactor)


def wildcards(job: Any) -> dict[str, Value]:
    return {str(k): to_value(v) for k, v in dict(job.wildcards_dict).items()}


def resources(job: Any) -> dict[str, Value]:
    items = dict(job.resources.items())
    return {str(k): to_value(v) for k, v in items.items() if not str(k).startswith("_")}


def code(job: Any) -> Code:
    """What the job ran, with a hash that changes when the code does."""
    rule = job.rule
    if getattr(rule, "norun", False):
        return Code("none")
    if job.is_shell:
        text = str(job.shellcmd)
        return Code("shell", text=text, sha256=_digest(str(rule.shellcmd)))
    for kind, attr in (("script", "script"), ("wrapper", "wrapper"), ("notebook", "notebook")):
        path = getattr(rule, attr, None)
        if path is not None:
            return Code(kind, path=str(path), sha256=_file_or_text_digest(rule, str(path)))
    source = getattr(rule, "run_func_src", None)
    return Code("run", text=None, sha256=_digest(source) if source else None)


def _file_or_text_digest(rule: Any, path: str) -> str:
    full = path if os.path.isabs(path) else os.path.join(str(rule.basedir), path)
    return file_sha256(full) or _digest(path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def attributes(job: Any) -> dict[str, Value]:
    """Other facts of the job: threads, Snakemake's job id, conda env and container when set,
    its `temp()` outputs (Snakemake deletes them once the jobs that need them are done)."""
    attrs: dict[str, Value] = {"threads": int(job.threads), "jobid": int(job.jobid)}
    temporary = temp_outputs(job)
    if temporary:
        attrs["temp_outputs"] = json.dumps(temporary)
    conda = getattr(job, "conda_env_spec", None)  # not `conda_env`: that one needs conda installed
    if conda:
        attrs["conda_env"] = str(conda)
    container = getattr(job, "container_img_url", None)
    if container:
        attrs["container"] = str(container)
    benchmark = getattr(job, "benchmark", None)
    if benchmark:
        attrs["benchmark_file"] = str(benchmark)
    return attrs


def temp_outputs(job: Any) -> list[str]:
    """The job's outputs marked `temp()`, as its file records name them."""
    from snakemake.io import is_flagged

    return sorted(os.path.normpath(str(f)) for f in job.output if is_flagged(f, "temp"))


def real_shell(job: Any) -> str | None:
    """The shell this job's commands run with: its `shell_exec` resource or Snakemake's default."""
    from snakemake.shell import shell

    custom = job.resources.get("shell_exec") if hasattr(job.resources, "get") else None
    chosen = custom or shell.get_executable()
    if chosen and not os.path.isabs(chosen):
        import shutil

        chosen = shutil.which(chosen)
    return chosen or None
