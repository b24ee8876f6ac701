"""`--executor yprov-slurm-jobstep`: the SLURM plugin's job-step level (inside the batch job),
asked for by `--executor yprov-slurm`; it starts the job's process with `srun` as the stock
`slurm-jobstep` does, and makes that process record the job (`--executor yprov`, see
`snakemake_executor_plugin_yprov/cluster.py`). Not meant to be chosen by users.
"""

from pathlib import Path
from typing import Any

from snakemake_executor_plugin_yprov.cluster import (
    NODE_EXECUTOR,
    cli_settings,
    joined_args,
    missing_plugin,
    node_args,
)

__all__ = ["Executor", "common_settings"]

try:
    import snakemake_executor_plugin_slurm_jobstep as _jobstep
except ImportError:  # the plugin is optional: Snakemake imports us anyway
    Executor, common_settings = missing_plugin("yprov-slurm-jobstep", "slurm")
else:

    class Executor(_jobstep.Executor):  # type: ignore[no-redef]
        def __init__(self, workflow: Any, logger: Any) -> None:
            workflow.executor_settings = cli_settings("slurm-jobstep")  # `--slurm-jobstep-*`
            self.yprov_options = cli_settings("yprov")
            super().__init__(workflow, logger)

        def additional_general_args(self) -> str:
            options = self.yprov_options
            args = joined_args(super().additional_general_args())
            if options is None or not options.node_run:
                return args
            ours = node_args(options, Path(options.node_run))
            return f"{args} --executor {NODE_EXECUTOR} {ours}"

    common_settings = _jobstep.common_settings
