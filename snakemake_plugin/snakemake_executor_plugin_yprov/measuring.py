"""Make Snakemake's `shell()` start job processes from the launcher, for exact per-job usage.

Snakemake starts every `shell:` command, and the interpreter of every `script:`, `wrapper:` and
`notebook:` job, with `snakemake.shell`'s `sp.Popen` (its `subprocess` module) and waits for it in
the job's worker thread. We swap that module reference for a view of `subprocess` whose `Popen`
starts the process from the run's lean launcher process and reports its reaped tree's `wait4`
usage (`yprov_workflows.usage.launcher`), while the run goes on, and restore it after. Same shell,
arguments, environment, working directory, descriptors and exit status; the job's peak RSS no
longer includes Snakemake's own pages.
"""

from __future__ import annotations

import importlib
import subprocess
import types
from collections.abc import Callable
from typing import Any

from yprov_workflows.usage.launcher import Launcher
from yprov_workflows.usage.process import ThreadUsage


def measure_shell_processes(usage: ThreadUsage, launcher: Launcher) -> Callable[[], None]:
    """Install the measuring Popen into `snakemake.shell`; returns the function that undoes it."""
    # `import snakemake.shell as m` would give the `shell` class the package re-exports.
    shell_module: Any = importlib.import_module("snakemake.shell")
    original = shell_module.sp
    view = types.SimpleNamespace(**vars(subprocess))
    view.Popen = launcher.popen_class(usage)
    shell_module.sp = view

    def restore() -> None:
        if shell_module.sp is view:
            shell_module.sp = original

    return restore
