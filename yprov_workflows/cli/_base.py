"""The `yprov` command line: the command group and what every subcommand shares.

Every failure on bad input is one line on stderr starting `yprov: error:` and exit code 2; each
warning is one line. A closed stdout (`yprov show FILE | head -1`) ends the command quietly with
exit code 141, as a program killed by SIGPIPE. Subcommands live in topical modules next to this
one and register themselves on `main` (see `yprov_workflows/cli/__init__.py`).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from yprov_workflows._version import __version__
from yprov_workflows.errors import YProvError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for `cat` when its reader went away."""


def one_line_errors(func: F) -> F:
    """Report errors (exit 2) and warnings as one line each on stderr, never as a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _warnings_as_lines():
            try:
                return func(*args, **kwargs)
            except BrokenPipeError:
                _exit_quietly()
            except (YProvError, OSError) as exc:
                failure = f"yprov: error: {one_line(exc)}"
            except Exception as exc:  # last resort: a bug still gets one line, not a traceback
                failure = f"yprov: internal error: {type(exc).__name__}: {one_line(exc)} "
                failure += "(please report)"
        echo(failure, err=True)
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
                echo(f"yprov: warning: {one_line(warning.message)}", err=True)


def _exit_quietly() -> NoReturn:
    """Stdout's reader is gone: flushing at exit must not complain about it either."""
    with suppress(OSError, ValueError):  # not a real file (click's test runner): nothing to do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(EXIT_BROKEN_PIPE)


def echo(text: str, err: bool = False) -> None:
    """Print one line; characters the stream cannot encode (lone surrogates) are escaped."""
    stream = sys.stderr if err else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    click.echo(text.encode(encoding, "backslashreplace").decode(encoding), err=err)


def one_line(problem: object) -> str:
    return " ".join(str(problem).split()) or type(problem).__name__


@click.group()
@click.version_option(__version__, prog_name="yprov")
def main() -> None:
    """Work with the provenance of workflow runs recorded by yprov-workflows."""
