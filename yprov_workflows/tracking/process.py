"""What one process keeps for tracking: its open sinks by step folder and the thread that flushes
them.

`PROCESS` is the one object of this kind per process. It holds no run and no "current step" (a
step is found from a context variable or from `YPROV_STEP_DIR`, see `channel`); it holds open
files, like the `logging` module holds its handlers, because the points a process logs must reach
the disk at least once a second whatever step they belong to. It starts nothing on import: the
flusher thread (a daemon named `yprov-tracking-flush`) starts with the first sink and flushes
every `FLUSH_EVERY_S` and at exit. After `fork` the child starts empty: the points the parent had
not yet written are the parent's to write.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

from yprov_workflows.errors import ConfigError, RecordingError
from yprov_workflows.redaction import Redactor
from yprov_workflows.settings import Settings
from yprov_workflows.tracking.layout import (
    STEP_DIR_VARIABLE,
    STEP_INFO_VARIABLE,
    ensure_step_folder,
)
from yprov_workflows.tracking.series import FLUSH_EVERY_S
from yprov_workflows.tracking.sink import Sink
from yprov_workflows.usage.nvml import Gpus
from yprov_workflows.usage.rapl import Rapl

_log = logging.getLogger("yprov_workflows.tracking")


class TrackingWarning(UserWarning):
    """A tracking call could not record (no step to record into, or a recording problem)."""


class ProcessState:
    """The sinks of this process, its flusher thread, and what it said already. Thread-safe."""

    def __init__(self) -> None:
        self._hooked = False
        self._reset()

    def _reset(self) -> None:
        self.generation = object()
        self._sinks: dict[Path, Sink] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._env_sink: Sink | None = None
        self._env_known = False
        self._said: set[str] = set()
        self._settings: Settings | None = None
        self._redactor: Redactor | None = None
        self.gpus: Gpus | None = None  # opened on first use (tests put fakes here)
        self.rapl: Rapl | None = None

    # -- sinks ------------------------------------------------------------------------------------

    def sink(self, folder: Path) -> Sink:
        """This process's sink for a step folder (made on first use)."""
        with self._lock:
            sink = self._sinks.get(folder)
            if sink is None or sink.closed:
                sink = Sink(folder, self.generation, self.redactor(), self._reporter(folder))
                self._sinks[folder] = sink
                self._start()
            return sink

    def env_sink(self) -> Sink | None:
        """The sink of the step folder in `YPROV_STEP_DIR` (read once per process), if any."""
        sink = self._env_sink
        if sink is not None and not sink.closed:
            return sink
        if not self._env_known or sink is not None:
            folder = os.environ.get(STEP_DIR_VARIABLE)
            self._env_known = True  # a folder that cannot be made is not tried again
            if folder:  # the step's engine planned it; the first process that logs makes it
                ensure_step_folder(Path(folder), os.environ.get(STEP_INFO_VARIABLE))
            self._env_sink = self.sink(Path(folder)) if folder else None
        return self._env_sink

    def close(self, folder: Path) -> None:
        """Flush and close this process's sink of `folder` (the step ended) and forget it."""
        with self._lock:
            sink = self._sinks.pop(folder, None)
        if sink is not None:
            sink.close()

    def flush(self, folder: Path) -> None:
        with self._lock:
            sink = self._sinks.get(folder)
        if sink is not None:
            sink.flush()

    def flush_all(self) -> None:
        with self._lock:
            sinks = list(self._sinks.values())
        for sink in sinks:
            sink.flush()

    def forget(self) -> None:
        """Read the settings and `YPROV_STEP_DIR` again on next use, and say every warning again
        (for tests, which change the environment); open sinks stay."""
        self._settings = self._redactor = None
        self._env_sink, self._env_known = None, False
        self._said = set()

    # -- the flusher ------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._flusher is not None:
            return
        if not self._hooked:
            self._hooked = True
            os.register_at_fork(after_in_child=self._reset)
            atexit.register(self.flush_all)
        self._flusher = threading.Thread(
            target=self._run, name="yprov-tracking-flush", daemon=True, args=(self._stop,)
        )
        self._flusher.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(FLUSH_EVERY_S):
            try:
                self.flush_all()
            except Exception as exc:  # a bug here must never end the flushing
                self.say(f"flushing tracked metrics failed: {exc!r}")

    # -- settings, warnings and problems -----------------------------------------------------------

    def settings(self) -> Settings:
        """The environment's settings (read once); the defaults where they cannot be read."""
        if self._settings is None:
            try:
                self._settings = Settings.from_env()
            except ConfigError as exc:
                self.say(f"{exc}; tracking uses the default settings")
                self._settings = Settings()
        return self._settings

    def redactor(self) -> Redactor:
        if self._redactor is None:
            settings = self.settings()
            self._redactor = Redactor(settings.secret_names, enabled=settings.redact)
        return self._redactor

    def say(self, message: str, kind: str | None = None) -> None:
        """Warn once per kind of message (the message itself by default) in this process."""
        key = kind or message
        if key in self._said:
            return
        self._said.add(key)
        warnings.warn(f"yprov-workflows: {message}", TrackingWarning, stacklevel=4)

    def failed(self, problem: Exception, what: str, sink: Sink | None) -> None:
        """A tracking call failed: raise in strict mode, else warn once per kind and note it in
        the step's folder (the step's record counts it)."""
        message = f"{what} failed: {type(problem).__name__}: {problem}"
        if self.settings().strict:
            raise RecordingError(f"yprov-workflows: {message}") from problem
        self.say(message, kind=f"{what}/{type(problem).__name__}")
        if sink is not None:
            with contextlib.suppress(OSError):
                sink.problem(message)

    def _reporter(self, folder: Path) -> Callable[[str], None]:
        """How a sink reports what went wrong out of the caller's sight (in the flusher)."""

        said: set[str] = set()

        def report(text: str) -> None:
            if text in said:
                return
            said.add(text)
            _log.warning("yprov-workflows: %s (step folder %s)", text, folder)
            sink = self._sinks.get(folder)
            if sink is not None:
                with contextlib.suppress(OSError):
                    sink.problem(text)

        return report


PROCESS = ProcessState()
