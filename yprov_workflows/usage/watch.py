"""One step's watch by the sampler, as the engine adapters use it: start, add the processes the
step starts, stop and get its summary and time-series file. Never raises into the workflow."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import FileRecord
from yprov_workflows.usage.monitor import Monitor, Sampled, unsampled

Guard = Callable[[str], AbstractContextManager[None]]


class SeriesPlan(NamedTuple):
    """Where a long step's time series goes (a path, or an object that names it when asked:
    `os.fspath`, in the sampler's sender thread), and from what duration on it is kept."""

    path: str | os.PathLike[str]
    after_s: float


class Watch:
    """`monitor` None: sampling is off. `guard(what)` turns a failure into a warning (see
    `Recorder.guard`)."""

    def __init__(
        self,
        monitor: Monitor | None,
        watch_id: str,
        guard: Guard,
        series: SeriesPlan | None = None,
    ) -> None:
        self.monitor = monitor
        self.watch_id = watch_id
        self.guard = guard
        self.series = series

    def start(self, roots: list[int]) -> None:
        if self.monitor is None:
            return
        path, after_s = (self.series.path, self.series.after_s) if self.series else (None, 0)
        try:
            self.monitor.watch(self.watch_id, roots, path, after_s)
        except Exception:  # the guard is made only then: a step that ends soon costs none
            with self.guard("starting to sample a step"):
                raise

    def add_root(self, pid: int) -> None:
        if self.monitor is None:
            return
        with self.guard("sampling a process of a step"):
            self.monitor.add_roots(self.watch_id, [pid])

    def stop(self, duration_s: float, hasher: FileHasher) -> tuple[Sampled, FileRecord | None]:
        return self.stop_later(duration_s)(hasher)

    def stop_later(self, duration_s: float) -> Collect:
        """Tell the sampler that the step ended, now; the function returned collects its
        summary and hashes its time-series file (later, in another thread, if need be)."""
        if self.monitor is None:
            return _known(unsampled("sampling is off (YPROV_SAMPLE_TICK=0)"))
        try:
            summary = self.monitor.stop_later(self.watch_id, duration_s)
        except Exception:
            with self.guard("collecting the samples of a step"):
                raise
            return _known(unsampled("sampling failed"))
        return functools.partial(self._collect, summary)

    def _collect(
        self, summary: Callable[[], Sampled], hasher: FileHasher
    ) -> tuple[Sampled, FileRecord | None]:
        try:
            sampled = summary()
            series = None if sampled.series is None else hasher.record(_relative(sampled.series))
        except Exception:
            with self.guard("collecting the samples of a step"):
                raise
            return unsampled("sampling failed"), None
        return sampled, series


Collect = Callable[[FileHasher], tuple[Sampled, FileRecord | None]]


def _known(sampled: Sampled) -> Collect:
    return lambda hasher: (sampled, None)


def _relative(path: Path) -> str:
    """Relative to the working directory when inside it, as the workflow's own files are."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)
