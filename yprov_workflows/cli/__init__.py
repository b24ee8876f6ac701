"""The `yprov` command: `main` is the command group; each module here adds its subcommands.

- `documents`: export, metrics, validate (one run's document).
- `graph`: graph (pictures of a run's graph).
- `query`: show, lineage, diff, verify (questions about runs).
"""

from yprov_workflows.cli import documents as _documents  # noqa: F401 (registers its commands)
from yprov_workflows.cli import graph as _graph  # noqa: F401 (graph: DOT, SVG, HTML)
from yprov_workflows.cli import query as _query  # noqa: F401 (show, lineage, diff, verify)
from yprov_workflows.cli._base import main

__all__ = ["main"]
