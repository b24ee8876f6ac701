"""yProv4ML's logging calls, recorded by yprov-workflows: change one import and keep the script.

    import yprov_workflows.compat.yprov4ml as yprov4ml   # was: import yprov4ml

    yprov4ml.start_run(experiment_name="mnist", provenance_save_dir="prov")
    yprov4ml.log_param("lr", 0.01)
    yprov4ml.log_metric("loss", loss, context=yprov4ml.Context.TRAINING, step=epoch)
    yprov4ml.log_system_metrics(yprov4ml.Context.TRAINING, step=epoch)
    yprov4ml.log_artifact("model", "model.pt", is_model=True)
    yprov4ml.end_run()

The names and keyword arguments are yProv4ML 3.x's. Inside a workflow step (a Snakemake job, a
`@prov_task`) `start_run` joins the step: the experiment name becomes its `experiment_name`
attribute and `end_run` ends nothing. Outside one, `start_run` starts a standalone run (engine
"python") whose folder is `provenance_save_dir` if given. Arguments that only shape yProv4ML's own
storage or outputs are accepted and ignored (listed per function). Calls yProv4ML offers but that
need PyTorch or its own files (`log_model`, `save_model_version`, `log_flops_per_*`,
`log_carbon_metrics`, `log_context`, wrappers, loggers) warn once and do nothing: save the file
and call `log_artifact(..., is_model=True)` instead. docs/tracking.md lists what is covered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from yprov_workflows.tracking import api
from yprov_workflows.tracking.channel import current
from yprov_workflows.tracking.process import PROCESS
from yprov_workflows.tracking.standalone import end_run as _end_run
from yprov_workflows.tracking.standalone import start_run as _start_run


class Context(StrEnum):
    """yProv4ML's context names; any string works as a context too."""

    TRAINING = "training"
    VALIDATION = "validation"
    TESTING = "testing"
    EVALUATION = "evaluation"
    DATASETS = "datasets"
    MODELS = "models"


Contexts = Context  # yProv4ML 3.x's name of the enum


def start_run(
    experiment_name: str,
    prov_user_namespace: str | None = None,
    provenance_save_dir: str | os.PathLike[str] | None = None,
    collect_all_processes: bool = False,
    save_after_n_logs: int = 100,
    rank: int | None = None,
    metrics_file_type: str = "csv",
    csv_separator: str = ",",
    use_compressor: Any = None,
    use_run_id: Any = None,
    **ignored: Any,
) -> None:
    """Start a run named `experiment_name` (or join the running workflow step).

    Used: `experiment_name`, `provenance_save_dir` (the output folder of a standalone run),
    `rank` (kept as the `rank` attribute). Ignored: `prov_user_namespace`,
    `collect_all_processes`, `save_after_n_logs` (points are written within a second),
    `metrics_file_type`, `csv_separator`, `use_compressor` (series are CSV; set
    `YPROV_METRICS_FORMAT=parquet` for Parquet), `use_run_id` (run ids are unique), any other."""
    attributes: dict[str, Any] = {"experiment_name": experiment_name}
    if rank is not None:
        attributes["rank"] = rank
    _start_run(experiment_name, out_dir=provenance_save_dir, attributes=attributes)


def end_run(
    create_graph: bool = False,
    create_svg: bool = False,
    crate_ro_crate: bool = False,
    create_card: bool = False,
    **ignored: Any,
) -> None:
    """End the run (a joined workflow step goes on). The document is always written; the graph,
    SVG, RO-Crate and card options are ignored (`yprov` reads and validates the document)."""
    _end_run()


log_provenance_documents = end_run


def log_param(
    key: str, value: Any, context: Any = None, source: Any = None, is_input: bool = False
) -> None:
    """A hyper-parameter of the step. Ignored: `context`, `source`, `is_input`."""
    api.log_param(key, value)


def log_params(params: Mapping[str, Any], context: Any = None, source: Any = None) -> None:
    api.log_params(params)


def log_metric(
    key: str,
    value: float,
    context: Any = None,
    step: int = 0,
    source: Any = None,
    timestamp: Any = None,
) -> None:
    """A point of the series `key` x `context`. Ignored: `timestamp` (the time of the call is
    recorded)."""
    api.log_metric(key, value, step, context=_context(context), source=_source(source))


def log_metrics(
    metrics: Mapping[str, float], context: Any = None, step: int = 0, source: Any = None
) -> None:
    api.log_metrics(metrics, step, context=_context(context), source=_source(source))


def log_artifact(
    artifact_name: str,
    artifact_path: str | os.PathLike[str] | None = None,
    context: Any = None,
    source: Any = None,
    step: int = 0,
    log_copy_in_prov_directory: bool = True,
    log_copy_subdirectory: str | None = None,
    is_model: bool = False,
    is_input: bool = False,
    other_attrs: Mapping[str, Any] | None = None,
    **ignored: Any,
) -> None:
    """A file of the step, hashed in place (never copied). With one argument it is the path
    (yProv4ML 2.x). Ignored: `source`, `step`, `log_copy_in_prov_directory`,
    `log_copy_subdirectory`, `other_attrs`."""
    path = artifact_name if artifact_path is None else artifact_path
    name = None if artifact_path is None else artifact_name
    api.log_artifact(
        path, is_model=is_model, is_input=is_input, name=name, context=_context(context)
    )


def log_system_metrics(context: Any = None, step: int = 0) -> None:
    """Time, CPU, memory, GPU and energy since the previous call, in `context` (default
    "system"); see `yprov_workflows.log_system_metrics`."""
    api.log_system_metrics(step, context=_context(context) or api.SYSTEM_CONTEXT)


def log_current_execution_time(label: str, context: Any = None, step: int | None = None) -> None:
    """The time now (seconds since the epoch) as a point of the series `label`."""
    api.log_metric(label, time.time(), step, context=_context(context), source="std.time")


def log_execution_start_time() -> None:
    api.log_param("execution_start_time", time.time())


def log_execution_end_time() -> None:
    api.log_param("execution_end_time", time.time())


def log_execution_command(cmd: str, path: str = "") -> None:
    """The command that ran, as the `execution_command` parameter (no "/workspace" prefix)."""
    api.log_param("execution_command", f"{cmd} {path}".strip())


def log_source_code(path: str | os.PathLike[str] | None = None, **ignored: Any) -> None:
    """The script (or `path`) as an input artifact of the step."""
    import sys

    source = path if path is not None else (sys.argv[0] if sys.argv else "")
    if source and os.path.exists(source):
        api.log_artifact(source, is_input=True, name="source_code")


def log_dataset(dataset_label: str, dataset: Any, context: Any = None, **ignored: Any) -> None:
    """The dataset's size (`len`) as the parameter `<label>_stat_total_samples`, when it has one."""
    try:
        api.log_param(f"{dataset_label}_stat_total_samples", len(dataset))
    except TypeError:
        PROCESS.say(f"log_dataset({dataset_label!r}): the dataset has no len(): not recorded")


def get_run_dir() -> str | None:
    """The folder of the current step's tracked values (None outside a step)."""
    channel = current()[1]
    folder = channel.folder if channel is not None else os.environ.get("YPROV_STEP_DIR")
    return str(folder) if folder else None


def get_artifacts_dir() -> str | None:
    """A folder for files to log as artifacts (made on demand; None outside a step)."""
    run_dir = get_run_dir()
    if run_dir is None:
        return None
    folder = Path(run_dir) / "artifacts"
    folder.mkdir(exist_ok=True)
    return str(folder)


def _not_covered(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> None:
        PROCESS.say(
            f"yprov4ml.{name} is not covered by yprov-workflows and records nothing: save the "
            "file yourself and call log_artifact(name, path, is_model=True)",
            kind=f"yprov4ml.{name}",
        )

    call.__name__ = name
    call.__doc__ = f"Not covered: warns once and records nothing (yProv4ML's `{name}`)."
    return call


log_model = _not_covered("log_model")
save_model_version = _not_covered("save_model_version")
log_flops_per_epoch = _not_covered("log_flops_per_epoch")
log_flops_per_batch = _not_covered("log_flops_per_batch")
log_carbon_metrics = _not_covered("log_carbon_metrics")
log_context = _not_covered("log_context")


def _context(context: Any) -> str | None:
    if context is None or isinstance(context, str | Enum):
        return api.context_text(context)
    return str(context)


def _source(source: Any) -> str | None:
    return None if source is None else str(source)
