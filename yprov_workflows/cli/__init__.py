"""The `yprov` command: `main` is the command group; each module here adds its subcommands.

- `documents`: export, show, metrics, validate (one run's document).
"""

from yprov_workflows.cli import documents as _documents  # noqa: F401 (registers its commands)
from yprov_workflows.cli._base import main

__all__ = ["main"]
