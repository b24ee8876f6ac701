"""yprov-workflows: W3C PROV provenance of workflow runs (Snakemake, Prefect).

The core is engine-agnostic: adapters turn engine objects into records, a `Recorder` appends them
to a run's journal, `assemble` folds a journal into one PROV-JSON document, `validate` checks it.

Inside a step, `log_metric`, `log_metrics`, `log_param`, `log_params`, `log_artifact` and
`log_system_metrics` record values on that step; `run` (or `start_run`/`end_run`) records a
standalone run outside any workflow (see `yprov_workflows.tracking`, docs/tracking.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from yprov_workflows._version import __version__

# The public names, imported on first use (PEP 562): a process that needs one module of the
# package (the sampler, started while a workflow runs: about 0.15 s of CPU when it imported
# everything) imports only that module's own dependencies.
_HOMES = {
    "assemble": "assemble",
    "assemble_to_file": "assemble",
    "ConfigError": "errors",
    "DocumentError": "errors",
    "JournalError": "errors",
    "RecordingError": "errors",
    "YProvError": "errors",
    "Recorder": "recorder",
    "Settings": "settings",
    "end_run": "tracking",
    "log_artifact": "tracking",
    "log_metric": "tracking",
    "log_metrics": "tracking",
    "log_param": "tracking",
    "log_params": "tracking",
    "log_system_metrics": "tracking",
    "run": "tracking",
    "start_run": "tracking",
    "step_env": "tracking",
    "ValidationReport": "validation",
    "validate": "validation",
    "validate_file": "validation",
}

if TYPE_CHECKING:  # what type checkers and editors see
    from yprov_workflows.assemble import assemble, assemble_to_file
    from yprov_workflows.errors import (
        ConfigError,
        DocumentError,
        JournalError,
        RecordingError,
        YProvError,
    )
    from yprov_workflows.recorder import Recorder
    from yprov_workflows.settings import Settings
    from yprov_workflows.tracking import (
        end_run,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_system_metrics,
        run,
        start_run,
        step_env,
    )
    from yprov_workflows.validation import ValidationReport, validate, validate_file


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'yprov_workflows' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"yprov_workflows.{home}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = [
    "ConfigError",
    "DocumentError",
    "JournalError",
    "Recorder",
    "RecordingError",
    "Settings",
    "ValidationReport",
    "YProvError",
    "__version__",
    "assemble",
    "assemble_to_file",
    "end_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_system_metrics",
    "run",
    "start_run",
    "step_env",
    "validate",
    "validate_file",
]
