"""Documents this process is still completing in the background.

A Prefect flow run's end is written in a thread of its own: first the document (with every task
run its wrapper recorded), while Prefect's engine reports the flow's final state to its server;
the flow's final-state hook waits for that document (`wait_written`), so it exists before the
flow's user hooks run and before `flow()` returns. Then what only the Prefect API knows (task
runs of undecorated tasks, cache hits, records that never came) and the summary artifact follow,
so that these API calls (about 0.1-0.2 s with a busy server) are not added to the flow's wall
time. The thread is not a daemon: the interpreter waits for it before it exits. Readers in the
same process (tests, a script that reads the document right after the flow) call `settle`, which
`RunDocument` and the query loaders do.

This registry is process-wide, like `threading`'s own list of threads: it holds threads, not a
run's state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from yprov_workflows.errors import RecordingError

Written = Callable[[], None]
"""What a completion calls once the run's document is written (see `wait_written`)."""


class _Completion(NamedTuple):
    thread: threading.Thread
    failures: list[RecordingError]
    written: threading.Event


_LOCK = threading.Lock()
_PENDING: dict[Path, _Completion] = {}


def complete_later(run_dir: Path, work: Callable[[Written], None], name: str) -> None:
    """Run `work(written)` (which reports its own problems) in a thread that the interpreter
    waits for; `work` calls `written()` once the run's document is written (it counts as written
    when `work` ends in any case). A RecordingError it raises (strict mode) is raised again by
    `settle`. Where no thread can start (the interpreter is exiting), `work` runs now."""
    failures: list[RecordingError] = []
    written = threading.Event()

    def run() -> None:
        try:
            work(written.set)
        except RecordingError as problem:
            failures.append(problem)
        finally:
            written.set()
        with _LOCK:  # a failure stays until `settle` raises it
            if not failures and _PENDING.get(key) is completion:
                del _PENDING[key]

    key = run_dir.resolve()
    thread = threading.Thread(target=run, name=f"yprov-{name}", daemon=False)
    completion = _Completion(thread, failures, written)
    with _LOCK:
        earlier = _PENDING.get(key)
        _PENDING[key] = completion
    if earlier is not None:
        earlier.thread.join()  # one completion of a run at a time, in order
        failures.extend(earlier.failures)
    try:
        thread.start()
    except RuntimeError:  # "can't create new thread at interpreter shutdown"
        run()


def wait_written(run_dir: Path) -> None:
    """Wait until the documents of `run_dir` that this process completes are written (not for
    the API part that follows); returns at once when there are none."""
    with _LOCK:
        completion = _PENDING.get(run_dir.resolve()) if _PENDING else None
    if completion is not None:
        completion.written.wait()


def settle(run_dir: Path | None = None, timeout: float = 60.0) -> None:
    """Wait until the documents of `run_dir` (default: all) are complete; raise the first
    RecordingError their completion met (strict mode)."""
    with _LOCK:
        waiting = [
            entry
            for key, entry in _PENDING.items()
            if run_dir is None or key == run_dir.resolve() or _within(run_dir, key)
        ]
    for entry in waiting:
        entry.thread.join(timeout)
    for key, entry in list(_PENDING.items()):
        if entry.failures and not entry.thread.is_alive() and entry in waiting:
            with _LOCK:
                _PENDING.pop(key, None)
            raise entry.failures[0]


def _within(path: Path, run_dir: Path) -> bool:
    """Whether `path` is the run folder's document or another file in it, or its output folder."""
    resolved = path.resolve()
    return resolved.parent == run_dir or run_dir.parent == resolved
