"""Make Snakemake's `shell()` start job processes from the launcher, for exact per-job usage.

Snakemake starts every `shell:` command, and the interpreter of every `script:`, `wrapper:` and
`notebook:` job, with `snakemake.shell`'s `sp.Popen` (its `subprocess` module) and waits for it in
the job's worker thread. We swap that module reference for a view of `subprocess` whose `Popen`
starts the process from the run's lean launcher process and reports its reaped tree's `wait4`
usage (`yprov_workflows.usage.launcher`), while the run goes on, and restore it after. Same shell,
arguments, environment, working directory, descriptors and exit status; the job's peak RSS no
longer includes Snakemake's own pages. The environment gets the variables of the job whose worker
thread starts the process (`extra_env`: its step folder, so that its code logs into its step).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import types
from collections.abc import Callable, Mapping
from typing import Any

from yprov_workflows.usage.launcher import Launcher
from yprov_workflows.usage.process import ThreadUsage


def measure_shell_processes(
    usage: ThreadUsage, launcher: Launcher, extra_env: Callable[[], Mapping[str, str]]
) -> Callable[[], None]:
    """Install the measuring Popen into `snakemake.shell`; returns the function that undoes it.
    `extra_env()`, called in the thread that starts a process, gives variables to add to its
    environment."""
    # `import snakemake.shell as m` would give the `shell` class the package re-exports.
    shell_module: Any = importlib.import_module("snakemake.shell")
    original = shell_module.sp
    view = types.SimpleNamespace(**vars(subprocess))
    view.Popen = with_env(launcher.popen_class(usage), extra_env)
    shell_module.sp = view

    def restore() -> None:
        if shell_module.sp is view:
            shell_module.sp = original

    return restore


def with_env(popen: Callable[..., Any], extra_env: Callable[[], Mapping[str, str]]) -> Any:
    """`popen` whose processes also get `extra_env()` in their environment (keyword `env`, as
    Snakemake passes it, or this process's environment)."""

    def started(args: Any, *more: Any, **kwargs: Any) -> Any:
        extra = extra_env() if not more else None
        if extra:
            base = kwargs.get("env")
            kwargs["env"] = {**(os.environ if base is None else base), **extra}
        return popen(args, *more, **kwargs)

    return started
