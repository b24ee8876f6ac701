"""`snakemake --executor yprov-slurm`: Snakemake's SLURM executor (the plugin
snakemake-executor-plugin-slurm, `pip install 'yprov-workflows[slurm]'`), recording W3C PROV of
the run. The SLURM plugin's options keep their names (`--slurm-*`, `slurm_account=` resources),
ours too (`--yprov-*`). How it works: `snakemake_executor_plugin_yprov/cluster.py`.
"""

from typing import Any, Optional

from snakemake_executor_plugin_yprov.cluster import ClusterRecording, missing_plugin
from yprov_workflows.usage import sacct

__all__ = ["Executor", "common_settings"]

try:
    import snakemake_executor_plugin_slurm as _slurm
except ImportError:  # the plugin is optional: Snakemake imports us anyway
    Executor, common_settings = missing_plugin("yprov-slurm", "slurm")
else:

    class Executor(ClusterRecording, _slurm.Executor):  # type: ignore[no-redef]
        wrapped = "slurm"
        scheduler = "slurm"
        job_executor = "yprov-slurm-jobstep"  # its job step runs `--executor yprov`

        def accounting(self, job_id: Optional[str]) -> Any:  # noqa: UP045
            """SLURM's own figures of the job (`sacct`), next to ours."""
            return sacct.query(job_id) if job_id else None

    common_settings = _slurm.common_settings
