"""`yprov show`, `lineage`, `diff` and `verify`: questions about recorded runs.

A thin layer on `yprov_workflows.query`: each command takes RUN (a run folder, the output folder
`.yprov` for its newest run, or a document), prints text (tables drawn with `rich` on a terminal,
plain aligned columns when piped) or, with `--json`, the result as JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from yprov_workflows.cli._base import echo, main, one_line_errors
from yprov_workflows.gc_pause import paused_gc
from yprov_workflows.query import (
    RunGraph,
    diff_runs,
    lineage,
    open_run,
    summarize_run,
    verify_run,
)
from yprov_workflows.query.text import (
    Block,
    Table,
    as_json,
    diff_lines,
    lineage_lines,
    plain_table,
    show_blocks,
    verify_lines,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table as RichTable

EXIT_DIFFERENT = 1
SHOWN_STEPS = 40
F = TypeVar("F", bound=Callable[..., Any])


def _gc_paused(func: F) -> F:
    """The command runs with Python's cyclic garbage collector paused (`gc_pause.paused_gc`):
    nothing it makes holds cycles, and each full collection would walk the whole parsed
    document again (a fifth of the time of a query on 10,000 steps)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with paused_gc():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


_run_argument = click.argument("run", metavar="RUN", type=click.Path(path_type=Path))
_json_option = click.option("--json", "as_json_flag", is_flag=True, help="Print JSON.")


@main.command()
@_run_argument
@_json_option
@click.option("--all", "show_all", is_flag=True, help=f"List every step (default: {SHOWN_STEPS}).")
@one_line_errors
@_gc_paused
def show(run: Path, as_json_flag: bool, show_all: bool) -> None:
    """Summarize RUN: status, duration, its steps (failed first) with duration, CPU, peak
    memory and energy, totals, the critical path, and the metrics and hyper-parameters steps
    logged.

    RUN: a run folder (.yprov/<run id>), the output folder .yprov (its newest run) or a
    document.
    """
    summary = summarize_run(RunGraph.from_document(open_run(run).document))
    if as_json_flag:
        echo(as_json(summary))
    else:
        _emit(show_blocks(summary, None if show_all else SHOWN_STEPS))


@main.command(name="lineage")
@_run_argument
@click.argument("target")
@click.option("--up", "direction", flag_value="up", default=True, help="Where TARGET came from.")
@click.option("--down", "direction", flag_value="down", help="Everything derived from TARGET.")
@click.option(
    "--depth", type=click.IntRange(min=0), help="At most this many steps away (default: all)."
)
@_json_option
@one_line_errors
@_gc_paused
def lineage_command(
    run: Path, target: str, direction: str, depth: int | None, as_json_flag: bool
) -> None:
    """The lineage of TARGET in RUN: upstream (--up, the default), the steps, inputs and
    parameters it came from; downstream (--down), everything derived from it.

    TARGET: a file (its path as recorded, its sha256 or a prefix of 6+ hex digits) or a step
    (its name, label such as train[lr=0.5], job key or identifier). RUN: a run folder, the
    output folder .yprov (its newest run) or a document.
    """
    graph = RunGraph.from_document(open_run(run).document)
    result = lineage(graph, target, "down" if direction == "down" else "up", depth)
    _emit([as_json(result)] if as_json_flag else lineage_lines(result))


@main.command(name="diff")
@click.argument("run_a", metavar="RUN_A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="RUN_B", type=click.Path(path_type=Path))
@_json_option
@one_line_errors
@_gc_paused
def diff_command(run_a: Path, run_b: Path, as_json_flag: bool) -> None:
    """What differs from RUN_A to RUN_B: config, workflow, environment, steps added and
    removed, and per step (matched by rule or task and wildcards or parameters) parameters,
    input and output hashes, code, conda environment and container; usage changes above the
    noise (10 % and 0.1 s / 1 MiB / 1 J) are shown but are not differences.

    Exit status: 0 the same (usage and times aside), 1 different, 2 unreadable input.
    """
    a, b = open_run(run_a), open_run(run_b)
    graph_a, graph_b = RunGraph.from_document(a.document), RunGraph.from_document(b.document)
    result = diff_runs(graph_a, graph_b, a.run_dir, b.run_dir)
    _emit([as_json(result)] if as_json_flag else diff_lines(result))
    if not result.identical:
        sys.exit(EXIT_DIFFERENT)


@main.command(name="verify")
@_run_argument
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the run's relative file paths start (default: the run's recorded working "
    "directory, else the folder holding .yprov).",
)
@click.option("--no-cache", is_flag=True, help="Re-read every file; write no hash cache.")
@_json_option
@one_line_errors
@_gc_paused
def verify_command(run: Path, workdir: Path | None, no_cache: bool, as_json_flag: bool) -> None:
    """Re-hash the files RUN recorded that are still on disk; list those missing or changed.
    Unchanged files known to the hash cache (verify-cache.json in the run folder) are not
    read again.

    Exit status: 0 all as recorded, 1 some missing or changed, 2 unreadable input.
    """
    source = open_run(run)
    graph = RunGraph.from_document(source.document)
    result = verify_run(graph, source, workdir, use_cache=not no_cache)
    _emit([as_json(result)] if as_json_flag else verify_lines(result))
    if not result.ok:
        sys.exit(EXIT_DIFFERENT)


def _emit(blocks: Iterable[Block]) -> None:
    """Lines as they are; tables drawn by rich on a terminal, as plain columns otherwise."""
    console = _console() if sys.stdout.isatty() else None
    for block in blocks:
        if isinstance(block, str):
            echo(block)
        elif console is not None:
            console.print(_rich_table(block))
        else:
            for line in plain_table(block):
                echo(line)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False)


def _rich_table(table: Table) -> RichTable:
    from rich.table import Table as RichTable
    from rich.text import Text

    drawn = RichTable(title=_safe(table.title), title_justify="left")
    for index, column in enumerate(table.columns):
        if index in table.right:
            drawn.add_column(column, justify="right", overflow="fold")
        else:
            drawn.add_column(column, overflow="fold")
    status = table.columns.index("status") if "status" in table.columns else None
    for row in table.rows:
        cells = [Text(_safe(cell)) for cell in row]
        if status is not None:
            cells[status].stylize(_STATUS_STYLES.get(row[status], ""))
        drawn.add_row(*cells)
    return drawn


_STATUS_STYLES = {
    "failed": "bold red",
    "crashed": "bold red",
    "cancelled": "yellow",
    "incomplete": "yellow",
    "completed": "green",
    "cached": "cyan",
}


def _safe(text: str) -> str:
    """Text a terminal can print: lone surrogates (names that were not UTF-8) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
