"""The `yprov` command line. Every failure on bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from yprov_workflows._version import __version__
from yprov_workflows.assemble import assemble
from yprov_workflows.errors import YProvError
from yprov_workflows.runs import document_path, journal_path, write_document
from yprov_workflows.summary import summarize
from yprov_workflows.validation import load_document, validate_file

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


def _one_line_errors(func: F) -> F:
    """Report errors (exit 2) and warnings as one line each on stderr, never as a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            try:
                return func(*args, **kwargs)
            except (YProvError, OSError) as exc:
                click.echo(f"yprov: error: {exc}", err=True)
                sys.exit(EXIT_BAD_INPUT)
            finally:
                for warning in caught:
                    click.echo(f"yprov: warning: {warning.message}", err=True)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(__version__, prog_name="yprov")
def main() -> None:
    """Work with the provenance of workflow runs recorded by yprov-workflows."""


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the document (default: <RUN_DIR>/<run id>.prov.json).",
)
@_one_line_errors
def export(run_dir: Path, output: Path | None) -> None:
    """Assemble the PROV-JSON document of the run in RUN_DIR from its journal.

    Works for runs that were killed: the document then marks the run incomplete.
    """
    if not journal_path(run_dir).is_file():
        raise YProvError(f"{run_dir} is not a run folder: it has no {journal_path(run_dir).name}")
    target = output or document_path(run_dir)
    write_document(target, assemble(run_dir))
    click.echo(str(target))


@main.command()
@click.argument("document", type=click.Path(path_type=Path))
@_one_line_errors
def show(document: Path) -> None:
    """Print a short summary of DOCUMENT: status, steps, CPU, memory, files."""
    for line in summarize(load_document(document)):
        click.echo(line)


@main.command(name="validate")
@click.argument("document", type=click.Path(path_type=Path))
@_one_line_errors
def validate_command(document: Path) -> None:
    """Check DOCUMENT: PROV-JSON schema, round trip through `prov`, structural checks.

    Exit status: 0 valid, 1 invalid (reasons printed), 2 unreadable input.
    """
    report = validate_file(document)
    if report.ok:
        click.echo(f"{document}: valid")
        return
    for problem in report.problems:
        click.echo(problem)
    click.echo(f"{document}: invalid ({len(report.problems)} problems)", err=True)
    sys.exit(EXIT_INVALID)


if __name__ == "__main__":
    main()
