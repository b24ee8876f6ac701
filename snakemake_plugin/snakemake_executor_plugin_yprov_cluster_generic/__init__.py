"""`snakemake --executor yprov-cluster-generic`: Snakemake's generic cluster executor (the plugin
snakemake-executor-plugin-cluster-generic, `pip install 'yprov-workflows[cluster-generic]'`) with
the user's own submit, status and cancel commands, recording W3C PROV of the run. Its options keep
their names (`--cluster-generic-*`), ours too (`--yprov-*`). How it works:
`snakemake_executor_plugin_yprov/cluster.py`.
"""

from snakemake_executor_plugin_yprov.cluster import ClusterRecording, missing_plugin

__all__ = ["Executor", "common_settings"]

try:
    import snakemake_executor_plugin_cluster_generic as _generic
except ImportError:  # the plugin is optional: Snakemake imports us anyway
    Executor, common_settings = missing_plugin("yprov-cluster-generic", "cluster-generic")
else:

    class Executor(ClusterRecording, _generic.Executor):  # type: ignore[no-redef]
        wrapped = "cluster-generic"
        scheduler = "cluster-generic"

    common_settings = _generic.common_settings
