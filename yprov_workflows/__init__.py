"""yprov-workflows: W3C PROV provenance of workflow runs (Snakemake, Prefect).

The core is engine-agnostic: adapters turn engine objects into records, a `Recorder` appends them
to a run's journal, `assemble` folds a journal into one PROV-JSON document, `validate` checks it.

Inside a step, `log_metric`, `log_metrics`, `log_param`, `log_params`, `log_artifact` and
`log_system_metrics` record values on that step; `run` (or `start_run`/`end_run`) records a
standalone run outside any workflow (see `yprov_workflows.tracking`, docs/tracking.md).
"""

from yprov_workflows._version import __version__
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
