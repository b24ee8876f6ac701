"""How a Snakemake job attempt failed, as one bounded text (`StepRecord.error`).

- The user's own exception, not Snakemake's wrappers around it: `ValueError: bad`, not
  `RuleException` or `SpawnedJobError`.
- A `script:`, `wrapper:` or `notebook:` job is named by the file the rule names (`scripts/fit.py`),
  not by the temporary copy Snakemake runs.
- A failed command keeps all its lines, followed by the last lines of the job's log files.
- `run:` jobs run in a second Snakemake process (`spawn_job`): that process runs this executor
  too (`SPAWN_ARGS`), which writes the description to the file named by `REPORT_VARIABLE`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from snakemake.exceptions import RuleException, SpawnedJobError

MAX_ERROR = 4096
"""An error text is at most this many characters: its start and its end are kept."""
TAIL_LINES = 20
TAIL_BYTES = 2048
"""At most this much of the end of a failed job's log files goes into its error."""
REPORT_VARIABLE = "YPROV_SPAWNED_ERROR_FILE"
SPAWN_ARGS = "--executor yprov"
_WRAPPERS = (RuleException, SpawnedJobError)
_CODE_KINDS = ("script", "wrapper", "notebook")


def describe(job: Any, exc: BaseException, logs: Iterable[str] = ()) -> str:
    """The real error of a failed job attempt, then the end of its logs for a failed command."""
    root = _user_exception(exc)
    text = _describe_command(job, root) or _plain(root)
    if isinstance(root, subprocess.CalledProcessError):
        text += "".join(_log_tails(logs))
    return bounded(text)


def _user_exception(exc: BaseException) -> BaseException:
    """The first exception in the chain that is not one of Snakemake's wrappers."""
    chain = _chain(exc)
    return next((e for e in chain if not isinstance(e, _WRAPPERS)), chain[-1])


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def exit_code(exc: BaseException) -> int | None:
    """The return code of the failed process in the chain, if a process failed."""
    codes = [getattr(e, "returncode", None) for e in _chain(exc)]
    return next((c for c in codes if isinstance(c, int)), None)


def _plain(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _describe_command(job: Any, exc: BaseException) -> str | None:
    """A failed script, wrapper or notebook named as the rule names it, with its exit status."""
    if not isinstance(exc, subprocess.CalledProcessError):
        return None
    rule = job.rule
    for kind in _CODE_KINDS:
        path = getattr(rule, kind, None)
        if path is not None:
            return f"{kind} {path} failed: {exit_text(exc.returncode)}"
    return None


def exit_text(code: int) -> str:
    """`exit status 3`, or `killed by signal SIGKILL` for a negative return code."""
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _log_tails(paths: Iterable[str]) -> Iterable[str]:
    budget = TAIL_BYTES
    for path in paths:
        tail = _tail(path, budget)
        if tail:
            budget -= len(tail)
            yield f"\nlast lines of {path}:\n{tail}"
        if budget <= 0:
            return


def _tail(path: str, limit: int) -> str:
    """The last `TAIL_LINES` lines of a text file, at most `limit` bytes; '' when unreadable."""
    try:
        with open(path, "rb") as handle:
            start = max(0, handle.seek(0, os.SEEK_END) - limit)
            handle.seek(start)
            data = handle.read(limit)
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    whole = lines[1:] if start and len(lines) > 1 else lines  # the first may be cut
    return "\n".join(whole[-TAIL_LINES:]).strip()


def bounded(text: str, limit: int = MAX_ERROR) -> str:
    """`text` if short enough; otherwise its start and end around a note of what was cut."""
    if len(text) <= limit:
        return text
    longest_note = len(_cut_note(len(text)))
    keep = (limit - longest_note) // 2
    return text[:keep] + _cut_note(len(text) - 2 * keep) + text[len(text) - keep :]


def _cut_note(count: int) -> str:
    return f"\n[... {count} characters left out ...]\n"


def with_report(path: Path, secret_names: tuple[str, ...]) -> dict[str, str]:
    """The environment of a spawned job's process: ours, plus where to leave the job's error and
    the user's secret name patterns (so that its report is scrubbed as our records are)."""
    names = {"YPROV_SECRET_NAMES": ",".join(secret_names)} if secret_names else {}
    return {**os.environ, REPORT_VARIABLE: str(path.absolute()), **names}


def spawned_failed(process: subprocess.Popen[bytes]) -> str:
    """What we know when a spawned job's process left no description (it failed before the job
    ran, or was killed)."""
    return f"the job's Snakemake process failed: {exit_text(process.returncode)}"


def write_report(
    path: str, job: Any, exc: BaseException, logs: Iterable[str], scrub: Callable[[str], str]
) -> None:
    """In a spawned job's process: leave the job's error, secrets scrubbed, where the main
    process reads it.

    Any problem here is ignored: the process must fail with the job's own error, and the main
    process then says only that the job's process failed."""
    with contextlib.suppress(Exception):
        Path(path).write_text(scrub(describe(job, exc, logs)), encoding="utf-8")


def read_report(path: Path) -> str | None:
    """In the main process: the description a spawned job process left, removing the file."""
    try:
        text = path.read_text(encoding="utf-8")
        path.unlink()
    except OSError:
        return None
    return text or None
