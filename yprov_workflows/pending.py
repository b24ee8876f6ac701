"""Documents this process is still completing in the background.

A Prefect flow run writes its document before `flow()` returns, with every task run its wrapper
recorded; what only the Prefect API knows (task runs of undecorated tasks, cache hits, records
that never came) and the summary artifact follow in a thread of its own, so that these API calls
(about 0.1-0.2 s with a busy server) are not added to the flow's wall time. The thread is not a
daemon: the interpreter waits for it before it exits. Readers in the same process (tests, a
script that reads the document right after the flow) call `settle`, which `RunDocument` and the
query loaders do.

This registry is process-wide, like `threading`'s own list of threads: it holds threads, not a
run's state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from yprov_workflows.errors import RecordingError

_LOCK = threading.Lock()
_PENDING: dict[Path, tuple[threading.Thread, list[RecordingError]]] = {}


def complete_later(run_dir: Path, work: Callable[[], None], name: str) -> None:
    """Run `work` (which reports its own problems) in a thread that the interpreter waits for;
    a RecordingError it raises (strict mode) is raised again by `settle`."""
    failures: list[RecordingError] = []

    def run() -> None:
        try:
            work()
        except RecordingError as problem:
            failures.append(problem)
        with _LOCK:  # a failure stays until `settle` raises it
            if not failures and _PENDING.get(key, (None, None))[0] is thread:
                del _PENDING[key]

    key = run_dir.resolve()
    thread = threading.Thread(target=run, name=f"yprov-{name}", daemon=False)
    with _LOCK:
        earlier = _PENDING.get(key)
        _PENDING[key] = (thread, failures)
    if earlier is not None:
        earlier[0].join()  # one completion of a run at a time, in order
        failures.extend(earlier[1])
    thread.start()


def settle(run_dir: Path | None = None, timeout: float = 60.0) -> None:
    """Wait until the documents of `run_dir` (default: all) are complete; raise the first
    RecordingError their completion met (strict mode)."""
    with _LOCK:
        waiting = [
            entry
            for key, entry in _PENDING.items()
            if run_dir is None or key == run_dir.resolve() or _within(run_dir, key)
        ]
    for thread, _ in waiting:
        thread.join(timeout)
    for key, (thread, failures) in list(_PENDING.items()):
        if failures and not thread.is_alive() and (thread, failures) in waiting:
            with _LOCK:
                _PENDING.pop(key, None)
            raise failures[0]


def _within(path: Path, run_dir: Path) -> bool:
    """Whether `path` is the run folder's document or another file in it, or its output folder."""
    resolved = path.resolve()
    return resolved.parent == run_dir or run_dir.parent == resolved
