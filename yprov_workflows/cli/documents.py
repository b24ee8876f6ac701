"""`yprov export`, `metrics` and `validate`: one run's document and what it holds (`show` lives
with the other questions about runs in `query`)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click

from yprov_workflows.assemble import assemble
from yprov_workflows.cli._base import EXIT_INVALID, echo, main, one_line, one_line_errors
from yprov_workflows.errors import YProvError
from yprov_workflows.export.formats import FORMATS, default_target, write_file, write_stream
from yprov_workflows.export.source import Located, load, locate
from yprov_workflows.journal import WRITERS
from yprov_workflows.liveness import still_recording
from yprov_workflows.merge import merge_journals
from yprov_workflows.runs import document_path, write_document
from yprov_workflows.tracking.view import metrics_output
from yprov_workflows.validation import validate_file


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="json: PROV-JSON; provn: PROV-N; jsonld: PROV-JSONLD; provo-nt: PROV-O N-Triples; "
    "provo-ttl: PROV-O Turtle (needs rdflib: pip install 'yprov-workflows[rdf]'); rocrate: a "
    "Workflow Run RO-Crate (a .zip, or a folder).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write (default: <run folder>/<run id>.prov.json, .provn, .jsonld, .nt, .ttl "
    "or .crate.zip); - for standard output (not rocrate).",
)
@click.option(
    "--license",
    "license_",
    metavar="URL",
    help="rocrate: the crate's license (e.g. https://spdx.org/licenses/CC-BY-4.0).",
)
@click.option(
    "--merge",
    "merge",
    multiple=True,
    metavar="PATH",
    type=click.Path(path_type=Path),
    help="First copy the journals at PATH (a journal file or a folder of them, e.g. one a "
    "worker kept on its side) into RUN's journals/; repeatable. A journal of another run, or a "
    "damaged one, stops the export and changes nothing.",
)
@one_line_errors
def export(
    run: Path, fmt: str, output: Path | None, license_: str | None, merge: tuple[Path, ...]
) -> None:
    """Write the document of RUN (a run folder, the output folder .yprov for its latest run, or
    a PROV-JSON document) in a format; print where.

    A run folder's document is assembled from its journal now: runs that were killed, or are
    still going, are exported too, marked incomplete. With --merge, the journals are added to
    the run first, and its own document is written again.
    """
    located = locate(run)
    if merge:
        _merge(located, merge)
    target = output or default_target(located, fmt)
    if str(target) != "-" and fmt != "rocrate":
        _check_target(target)
    if located.kind == "journal" and (alive := still_recording(located.path)) is not None:
        warnings.warn(
            f"the run in {run} is still going ({alive}): the document is a snapshot of it "
            "so far, marked incomplete",
            stacklevel=1,
        )
    loaded = load(located)
    if str(target) == "-":
        write_stream(loaded.document, fmt, sys.stdout)
        return
    if fmt == "json":
        if not _same_file(target, located):
            _write(target, loaded.document)
    else:
        write_file(loaded.document, fmt, target, loaded.run_id, license_)
    echo(str(target))


def _merge(located: Located, sources: tuple[Path, ...]) -> None:
    """Copy the journals into the run (see `merge.py`) and write its document again."""
    if located.kind != "journal":
        raise YProvError(f"{located.given} is a document, not a run folder; --merge needs a run")
    merged = merge_journals(located.path, sources)
    write_document(document_path(located.path), assemble(located.path))
    echo(f"merged {len(merged.copied)} journals into {located.path / WRITERS}", err=True)


def _same_file(target: Path, located: Located) -> bool:
    return located.kind == "document" and target.exists() and target.samefile(located.path)


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
@one_line_errors
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
        echo(line)


@main.command(name="validate")
@click.argument("document", type=click.Path(path_type=Path))
@one_line_errors
def validate_command(document: Path) -> None:
    """Check DOCUMENT: PROV-JSON schema, round trip through `prov`, structural checks.

    Exit status: 0 valid, 1 invalid (reasons printed), 2 unreadable input.
    """
    report = validate_file(document)
    if report.ok:
        echo(f"{document}: valid")
        return
    for problem in report.problems:
        echo(one_line(problem))
    echo(f"{document}: invalid ({len(report.problems)} problems)", err=True)
    sys.exit(EXIT_INVALID)
