"""The `yprov` command line.

Every failure on bad input is one line on stderr starting `yprov: error:` and exit code 2; each
warning is one line. A closed stdout (`yprov show FILE | head -1`) ends the command quietly with
exit code 141, as a program killed by SIGPIPE.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from yprov_workflows._version import __version__
from yprov_workflows.assemble import assemble
from yprov_workflows.errors import JournalError, YProvError
from yprov_workflows.liveness import still_recording
from yprov_workflows.runs import document_path, journal_path, write_document
from yprov_workflows.summary import summarize
from yprov_workflows.tracking.view import metrics_output
from yprov_workflows.validation import load_prov_document, validate_file

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for `cat` when its reader went away."""


def _one_line_errors(func: F) -> F:
    """Report errors (exit 2) and warnings as one line each on stderr, never as a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _warnings_as_lines():
            try:
                return func(*args, **kwargs)
            except BrokenPipeError:
                _exit_quietly()
            except (YProvError, OSError) as exc:
                failure = f"yprov: error: {_one_line(exc)}"
            except Exception as exc:  # last resort: a bug still gets one line, not a traceback
                failure = f"yprov: internal error: {type(exc).__name__}: {_one_line(exc)} "
                failure += "(please report)"
        _echo(failure, err=True)
        sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            yield
        finally:
            for warning in caught:
                _echo(f"yprov: warning: {_one_line(warning.message)}", err=True)


def _exit_quietly() -> NoReturn:
    """Stdout's reader is gone: flushing at exit must not complain about it either."""
    with suppress(OSError, ValueError):  # not a real file (click's test runner): nothing to do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(EXIT_BROKEN_PIPE)


def _echo(text: str, err: bool = False) -> None:
    """Print one line; characters the stream cannot encode (lone surrogates) are escaped."""
    stream = sys.stderr if err else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    click.echo(text.encode(encoding, "backslashreplace").decode(encoding), err=err)


def _one_line(problem: object) -> str:
    return " ".join(str(problem).split()) or type(problem).__name__


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
    _check_run_dir(run_dir)
    target = output or run_dir / document_path(run_dir.resolve()).name  # `.` has no name
    _check_target(target)
    if (alive := still_recording(run_dir)) is not None:
        warnings.warn(
            f"the run in {run_dir} is still going ({alive}): the document is a snapshot of it "
            "so far, marked incomplete",
            stacklevel=1,
        )
    _write(target, assemble(run_dir))
    _echo(str(target))


def _check_run_dir(run_dir: Path) -> None:
    journal = journal_path(run_dir)
    if not run_dir.exists():
        raise JournalError(f"{run_dir} does not exist; give the folder of a run (.yprov/<run id>)")
    if not run_dir.is_dir():
        raise JournalError(f"{run_dir} is a file, not a run folder; give the folder of a run")
    if not journal.exists():
        raise JournalError(f"{run_dir} has no {journal.name}: not a run folder; give one")
    if not journal.is_file():
        raise JournalError(f"{journal} is not a file: not a run folder; give the folder of a run")


def _write(target: Path, document: dict[str, Any]) -> None:
    try:
        write_document(target, document)
    except OSError as exc:
        raise YProvError(
            f"cannot write {target}: {exc.strerror or exc}; give another -o FILE"
        ) from exc
    except UnicodeEncodeError as exc:  # a lone surrogate: a file name that was not UTF-8
        raise YProvError(
            f"cannot write {target}: the run's journal holds text that is not valid Unicode "
            "(a name that was not UTF-8?)"
        ) from exc


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise YProvError(f"{target} is a folder; give the path of the file to write (-o FILE)")
    if not target.parent.exists():
        raise YProvError(f"{target.parent} does not exist; create it or give another -o FILE")
    if not target.parent.is_dir():
        raise YProvError(f"{target.parent} is a file, not a folder; give another -o FILE")


@main.command()
@click.argument("document", type=click.Path(path_type=Path))
@_one_line_errors
def show(document: Path) -> None:
    """Print a short summary of DOCUMENT: status, steps, CPU, memory, files."""
    for line in summarize(load_prov_document(document)):
        _echo(line)


@main.command()
@click.argument("source", metavar="RUN_OR_DOCUMENT", type=click.Path(path_type=Path))
@click.option("--step", "step_name", help="Only the series of steps with this name.")
@click.option("--name", help="Only the series of this metric (e.g. loss).")
@click.option("--context", help="Only the series of this context (e.g. training).")
@click.option("--csv", "as_csv", is_flag=True, help="Every point as CSV (one row per point).")
@click.option("--json", "as_json", is_flag=True, help="The series and their points as JSON.")
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Draw the series into this image file, one line per step (needs matplotlib: "
    "pip install 'yprov-workflows[plot]').",
)
@click.option(
    "--x",
    "x_axis",
    type=click.Choice(["step", "time", "energy"]),
    default="step",
    show_default=True,
    help="The x axis of --plot: step, seconds since the first point, or the step's cumulative "
    "energy (its CPU time where it logged none).",
)
@_one_line_errors
def metrics(
    source: Path,
    step_name: str | None,
    name: str | None,
    context: str | None,
    as_csv: bool,
    as_json: bool,
    plot: Path | None,
    x_axis: str,
) -> None:
    """Print the metric series that steps logged, read from the files the document of
    RUN_OR_DOCUMENT (a document, a run folder or .yprov) points to: a table per step by
    default."""
    if sum((as_csv, as_json, plot is not None)) > 1:
        raise YProvError("give at most one of --csv, --json and --plot")
    if plot is not None:
        _check_target(plot)
    for line in metrics_output(source, step_name, name, context, as_csv, as_json, plot, x_axis):
        _echo(line)


@main.command(name="validate")
@click.argument("document", type=click.Path(path_type=Path))
@_one_line_errors
def validate_command(document: Path) -> None:
    """Check DOCUMENT: PROV-JSON schema, round trip through `prov`, structural checks.

    Exit status: 0 valid, 1 invalid (reasons printed), 2 unreadable input.
    """
    report = validate_file(document)
    if report.ok:
        _echo(f"{document}: valid")
        return
    for problem in report.problems:
        _echo(_one_line(problem))
    _echo(f"{document}: invalid ({len(report.problems)} problems)", err=True)
    sys.exit(EXIT_INVALID)


if __name__ == "__main__":
    main()
