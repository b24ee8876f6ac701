"""yprov-workflows: W3C PROV provenance of workflow runs (Snakemake, Prefect).

The core is engine-agnostic: adapters turn engine objects into records, a `Recorder` appends them
to a run's journal, `assemble` folds a journal into one PROV-JSON document, `validate` checks it.
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
    "validate",
    "validate_file",
]
