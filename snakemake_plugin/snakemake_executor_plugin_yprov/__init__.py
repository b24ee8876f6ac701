"""`snakemake --executor yprov`: Snakemake's local executor, recording W3C PROV of the run.

Snakemake finds this plugin by its package name. Settings become `--yprov-<name>` options.
"""

# No `from __future__ import annotations` here: Snakemake reads the settings' field types at
# run time to build its command-line options.
from dataclasses import dataclass, field
from typing import Optional

from snakemake_interface_executor_plugins.settings import CommonSettings, ExecutorSettingsBase

from snakemake_executor_plugin_yprov.executor import Executor

__all__ = ["Executor", "ExecutorSettings", "common_settings"]


@dataclass
class ExecutorSettings(ExecutorSettingsBase):
    out: Optional[str] = field(  # noqa: UP045 (Snakemake's parser needs Optional)
        default=None,
        metadata={
            "help": "Folder for run journals and PROV documents (default: .yprov in the working "
            "directory).",
            "env_var": False,
        },
    )
    strict: bool = field(
        default=False,
        metadata={
            "help": "Fail the workflow when recording provenance fails (default: warn and go on).",
            "env_var": False,
        },
    )
    no_redact: bool = field(
        default=False,
        metadata={
            "help": "Keep values of parameters whose names look secret (token, password, key, "
            "...) instead of redacting them.",
            "env_var": False,
        },
    )
    secret_names: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "More names to treat as secret: comma-separated regular expressions, matched "
            "anywhere in a param, config or environment variable name, case-insensitive (also "
            "YPROV_SECRET_NAMES). Their values are redacted and scrubbed from every other text.",
            "env_var": False,
        },
    )

    sample_tick: Optional[float] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "Seconds between two samples of a job's processes and GPUs, after a faster "
            "start (default 1, or YPROV_SAMPLE_TICK); 0 turns the sampler off.",
            "env_var": False,
        },
    )
    series_after: Optional[float] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "Jobs that last longer than this many seconds keep a time series of their "
            "samples (default 30, or YPROV_SERIES_AFTER).",
            "env_var": False,
        },
    )
    node_run: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "Internal: the run folder a cluster job's process records its job into (set "
            "by --executor yprov-slurm and yprov-cluster-generic for the job's process).",
            "env_var": False,
        },
    )


# The same values as Snakemake's local executor: jobs run on this machine, from this process.
common_settings = CommonSettings(
    non_local_exec=False,
    implies_no_shared_fs=False,
    job_deploy_sources=False,
    pass_envvar_declarations_to_cmd=True,
    auto_deploy_default_storage_provider=False,
)
