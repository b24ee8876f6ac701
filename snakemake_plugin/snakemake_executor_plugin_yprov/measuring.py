"""Make Snakemake's `shell()` reap job processes with `wait4`, for exact per-job usage.

Snakemake starts every `shell:` command, and the interpreter of every `script:`, `wrapper:` and
`notebook:` job, with `snakemake.shell`'s `sp.Popen` (its `subprocess` module) and waits for it in
the job's worker thread. We swap that module reference for a view of `subprocess` whose `Popen`
reaps with `wait4` (`yprov_workflows.usage.process`) while the run goes on, and restore it after.
Nothing else changes: same process, same shell, same arguments, same exit status.
"""

from __future__ import annotations

import importlib
import subprocess
import types
from collections.abc import Callable
from typing import Any

from yprov_workflows.usage.process import ThreadUsage


def measure_shell_processes(usage: ThreadUsage) -> Callable[[], None]:
    """Install the measuring Popen into `snakemake.shell`; returns the function that undoes it."""
    # `import snakemake.shell as m` would give the `shell` class the package re-exports.
    shell_module: Any = importlib.import_module("snakemake.shell")
    original = shell_module.sp
    view = types.SimpleNamespace(**vars(subprocess))
    view.Popen = usage.popen_class()
    shell_module.sp = view

    def restore() -> None:
        if shell_module.sp is view:
            shell_module.sp = original

    return restore
