"""What one process writes into one step folder: its metric series writers and its events file.

`Sink.metric` is the hot path of `log_metric`: a dict lookup and a list append (see `series`).
Everything else (`param`, `artifact`, `attribute`, `missing`, `problem`) appends one JSON line to
the process's events file with one `write`, so a step killed a moment later keeps it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from time import time
from typing import Any

from yprov_workflows.redaction import Redactor
from yprov_workflows.tracking.layout import EVENTS, writer_id
from yprov_workflows.tracking.series import FLUSH_AT, SeriesWriter, Summary
from yprov_workflows.values import to_value

Report = Callable[[str], None]


class Sink:
    """The writers of this process for one step folder. Thread-safe."""

    def __init__(self, folder: Path, generation: object, redactor: Redactor, report: Report):
        self.folder = folder
        self.generation = generation  # the process state it belongs to (a fork starts anew)
        self.closed = False
        self.writer = writer_id()
        self.series: dict[tuple[str, str | None], SeriesWriter] = {}
        self.state: dict[str, Any] = {}  # per-sink state of helpers (the system meter)
        self._redactor = redactor
        self._report = report
        self._lock = threading.Lock()
        self._events = -1
        self._missing: dict[str, str | None] = {}

    # -- metrics (the hot path) -----------------------------------------------------------------

    def metric(
        self, name: str, value: Any, step: Any, context: str | None, unit: str | None, source: Any
    ) -> None:
        series = self.series.get((name, context))
        if series is None:
            series = self._new_series(name, context, unit, source)
        points = series.points
        points.append((step, value, time()))
        if len(points) >= FLUSH_AT:
            series.flush()

    def _new_series(
        self, name: str, context: str | None, unit: str | None, source: Any
    ) -> SeriesWriter:
        _check_text("metric name", name)
        if context is not None:
            _check_text("context", context)
        with self._lock:
            found = self.series.get((name, context))
            if found is None:
                meta = Summary(name, context, unit, None if source is None else str(source))
                found = SeriesWriter(self.folder, self.writer, meta, self._report)
                self.series[(name, context)] = found
            return found

    def flush(self) -> None:
        """Flush every series; a failure is reported, the other series still flush."""
        for series in list(self.series.values()):
            try:
                series.flush()
            except OSError as exc:
                self._report(f"writing metric {series.summary.name!r} failed: {exc}")

    def close(self) -> None:
        """Flush and close the files (the sink still works: files open again when needed)."""
        self.closed = True
        for series in list(self.series.values()):
            try:
                series.close()
            except OSError as exc:
                self._report(f"writing metric {series.summary.name!r} failed: {exc}")
        with self._lock:
            if self._events >= 0:
                os.close(self._events)
                self._events = -1

    # -- events -----------------------------------------------------------------------------------

    def param(self, name: str, value: Any) -> None:
        _check_text("parameter name", name)
        self.event({"kind": "param", "name": name, "value": self._hidden(name, value)})

    def params(self, values: dict[str, Any]) -> None:
        for name in values:
            _check_text("parameter name", name)
        lines = [
            {"kind": "param", "name": name, "value": self._hidden(name, value)}
            for name, value in values.items()
        ]
        self.events(lines)

    def attribute(self, name: str, value: Any) -> None:
        _check_text("attribute name", name)
        self.event({"kind": "attribute", "name": name, "value": self._hidden(name, value)})

    def artifact(self, path: str | os.PathLike[str], **fields: Any) -> None:
        shown = os.path.normpath(os.fspath(path))
        location = os.path.abspath(shown)
        self.event({"kind": "artifact", "path": shown, "location": location, **fields})

    def missing(self, group: str, reason: str | None) -> None:
        """Why a group of system figures is missing (None: it is measured now); said once."""
        if self._missing.get(group) != reason:
            self._missing[group] = reason
            self.event({"kind": "missing", "group": group, "reason": reason})

    def problem(self, text: str) -> None:
        self.event({"kind": "problem", "text": text})

    def event(self, fields: dict[str, Any]) -> None:
        self.events([fields])

    def events(self, lines: list[dict[str, Any]]) -> None:
        """Append JSON lines with one `write`. Raises OSError."""
        stamp = time()
        text = "".join(json.dumps({**line, "t": stamp}) + "\n" for line in lines)
        data = text.encode()
        with self._lock:
            if self._events < 0:
                self._events = _open_events(self.folder / EVENTS / f"{self.writer}.jsonl")
            os.write(self._events, data)

    def _hidden(self, name: str, value: Any) -> Any:
        return to_value(self._redactor.hide(name, value))


def _open_events(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def _check_text(what: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"a {what} must be a string, got {type(value).__name__} {value!r:.40}")
