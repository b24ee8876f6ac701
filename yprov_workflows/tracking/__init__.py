"""In-step tracking: metrics, hyper-parameters, artifacts and per-epoch system metrics logged from
inside any workflow step, recorded on that step's activity. Reference: docs/tracking.md.

What a step's code writes (the names are re-exported by `yprov_workflows`):

    import yprov_workflows as yp

    yp.log_params({"lr": 0.01, "batch_size": 64})
    for epoch in range(epochs):
        yp.log_metric("loss", loss, step=epoch, context="training")
        yp.log_metrics({"loss": vloss, "accuracy": acc}, step=epoch, context="validation")
        yp.log_system_metrics(step=epoch)
    yp.log_artifact("model.json", is_model=True)

Outside any workflow, `with yp.run("name"):` (or `yp.start_run` / `yp.end_run`) records a
standalone run (`standalone`); with no run at all a call does nothing and warns once per process.

The contract for engine adapters (`channel.StepChannel`):

- `StepChannel.open(run_dir, step_key, started_monotonic=None)` at each step attempt's start makes
  `<run_dir>/tracking/<step folder>/` (layout: `layout`);
- `channel.env()`: variables to add to the environment of the step's processes
  (`YPROV_STEP_DIR`);
- `with channel.active():` around in-process code of the step (contextvars: each thread and
  asyncio task has its own step);
- `channel.collect(hasher, redactor, report=None) -> Tracked` at the step's end, after its
  processes ended; `tracked.apply(step_record)` adds the metric series, hyper-parameters,
  artifacts, attributes and missing figures to the step's record (see `records.StepRecord`).
"""

from yprov_workflows.tracking.api import (
    log_artifact,
    log_attribute,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_system_metrics,
)
from yprov_workflows.tracking.channel import StepChannel, step_env
from yprov_workflows.tracking.collect import Tracked
from yprov_workflows.tracking.layout import STEP_DIR_VARIABLE
from yprov_workflows.tracking.process import TrackingWarning
from yprov_workflows.tracking.standalone import RunHandle, end_run, run, start_run

__all__ = [
    "STEP_DIR_VARIABLE",
    "RunHandle",
    "StepChannel",
    "Tracked",
    "TrackingWarning",
    "end_run",
    "log_artifact",
    "log_attribute",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_system_metrics",
    "run",
    "start_run",
    "step_env",
]
