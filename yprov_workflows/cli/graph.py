"""`yprov graph RUN -o FILE`: the workflow-level graph of a run as DOT, SVG or an HTML page."""

from __future__ import annotations

import os
from pathlib import Path

import click

from yprov_workflows.cli._base import echo, main, one_line_errors
from yprov_workflows.errors import YProvError
from yprov_workflows.export.graph import WorkflowGraph, dot_text, svg_bytes
from yprov_workflows.export.html import html_page
from yprov_workflows.export.source import load_run

KINDS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".html": "html", ".htm": "html"}


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The file to write; its suffix picks the format: .dot (Graphviz), .svg (needs "
    "Graphviz's dot), .html (one page that works offline).",
)
@click.option(
    "--all-steps/--groups",
    "all_steps",
    default=None,
    help="DOT and SVG: draw every step, or each rule or task as one node (default: groups "
    "above 200 steps). The HTML page always starts with groups and expands them on demand.",
)
@one_line_errors
def graph(run: Path, output: Path, all_steps: bool | None) -> None:
    """Draw the graph of RUN (a run folder, the output folder .yprov, or a PROV-JSON document):
    steps coloured by status, the files and values between them."""
    kind = KINDS.get(output.suffix.lower())
    if kind is None:
        raise YProvError(f"{output}: give a file name ending in .dot, .svg or .html")
    if output.is_dir() or not output.parent.is_dir():
        raise YProvError(f"{output} cannot be written: give a file in an existing folder")
    loaded = load_run(run)
    picture = WorkflowGraph.of(loaded.document)
    if kind == "html":
        data = html_page(picture, f"{loaded.run_id}").encode("utf-8", "backslashreplace")
    elif kind == "svg":
        data = svg_bytes(dot_text(picture, all_steps))
    else:
        data = dot_text(picture, all_steps).encode("utf-8", "backslashreplace")
    _write(output, data)
    echo(str(output))


def _write(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        raise YProvError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
