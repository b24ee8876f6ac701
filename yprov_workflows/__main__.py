"""`python -m yprov_workflows` is the `yprov` command."""

from yprov_workflows.cli import main

main()
