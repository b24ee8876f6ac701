"""One metric series: a CSV file that each writing process appends to, and a summary per writer.

The hot path (`SeriesWriter.points.append`) appends one tuple to a list: no lock, no system call.
A flush (the process's flusher thread at least every `FLUSH_EVERY_S`, or the logging thread itself
once `FLUSH_AT` points wait) takes the waiting points off the list (`del points[:n]` is one step
under the GIL: points appended meanwhile stay), formats them, appends them to the file with one
`write` on an `O_APPEND` descriptor (lines of several processes never mix within a line), then
updates the writer's summary from those points and rewrites its summary file atomically. Memory
therefore holds at most `FLUSH_AT` points per series, whatever the number logged.

A series' summaries are fresh when their byte counts, summed over the writers, cover the file: a
writer killed between its write and its summary leaves a stale one, and `summarize_file` then
recomputes the summary from the file, skipping a torn last line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yprov_workflows.tracking.layout import METRICS, SUMMARIES, series_stem

HEADER = b"step,value,time\n"
FLUSH_EVERY_S = 0.5
FLUSH_AT = 16_384
"""Points a series may hold in memory before the logging thread flushes them itself."""
CHUNK = 65_536
Point = tuple[Any, Any, float]  # (step or None, value, unix time), as logged
Report = Callable[[str], None]


@dataclass
class Summary:
    """What one writer (or, merged, every writer) appended to a series file.

    `bytes` counts the point lines' bytes, `dropped` the values that were not numbers. `first` and
    `last` are the first and last values (None when not finite), `min`/`max` the extreme finite
    values and `min_step`/`max_step` the step of their first occurrence."""

    name: str
    context: str | None = None
    unit: str | None = None
    source: str | None = None
    bytes: int = 0
    count: int = 0
    dropped: int = 0
    first: float | None = None
    last: float | None = None
    first_time: float | None = None
    last_time: float | None = None
    min: float | None = None
    max: float | None = None
    min_step: int | None = None
    max_step: int | None = None

    def add(self, steps: list[int], values: list[float], times: list[float]) -> None:
        """Points appended, in order."""
        if not values:
            return
        if self.first_time is None:
            self.first, self.first_time = _finite(values[0]), times[0]
        self.last, self.last_time = _finite(values[-1]), times[-1]
        self.count += len(values)
        finite = [v for v in values if v - v == 0.0]  # not NaN, not infinite
        if not finite:
            return
        low, high = min(finite), max(finite)
        if self.min is None or low < self.min:
            self.min, self.min_step = low, steps[values.index(low)]
        if self.max is None or high > self.max:
            self.max, self.max_step = high, steps[values.index(high)]

    def blank(self) -> Summary:
        """A summary of the same series with no points."""
        return Summary(self.name, self.context, self.unit, self.source)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Summary:
        """Raises ValueError for text that is not a summary (a damaged file)."""
        try:
            summary = cls(**json.loads(text))
        except TypeError as exc:
            raise ValueError(f"not a series summary: {exc}") from exc
        if not isinstance(summary.name, str) or not isinstance(summary.bytes, int):
            raise ValueError("not a series summary: name or bytes of the wrong type")
        return summary


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def merge(parts: Iterable[Summary]) -> Summary:
    """One summary of a series from the summaries of its writers (in any order)."""
    ordered = sorted(parts, key=lambda p: (p.first_time is None, p.first_time or 0.0))
    merged = ordered[0].blank()
    merged.unit = next((p.unit for p in ordered if p.unit is not None), None)
    merged.source = next((p.source for p in ordered if p.source is not None), None)
    for part in ordered:
        _absorb(merged, part)
    return merged


def _absorb(merged: Summary, part: Summary) -> None:
    merged.bytes += part.bytes
    merged.count += part.count
    merged.dropped += part.dropped
    if part.first_time is not None and merged.first_time is None:
        merged.first, merged.first_time = part.first, part.first_time
    if part.last_time is not None and (merged.last_time or -math.inf) <= part.last_time:
        merged.last, merged.last_time = part.last, part.last_time
    if part.min is not None and (merged.min is None or part.min < merged.min):
        merged.min, merged.min_step = part.min, part.min_step
    if part.max is not None and (merged.max is None or part.max > merged.max):
        merged.max, merged.max_step = part.max, part.max_step


def parse_line(line: bytes) -> tuple[int, float, float] | None:
    """One `step,value,time` line; None for a line that is not one (torn, or the header)."""
    fields = line.split(b",")
    if len(fields) != 3 or not line.endswith(b"\n"):
        return None
    try:
        return int(fields[0]), float(fields[1]), float(fields[2])
    except ValueError:
        return None


def read_points(path: Path, chunk: int = CHUNK) -> Iterator[list[tuple[int, float, float]]]:
    """The points of a series file in chunks, lines that are not points skipped."""
    with open(path, "rb") as handle:
        handle.readline()  # the header
        points: list[tuple[int, float, float]] = []
        for line in handle:
            point = parse_line(line)
            if point is not None:
                points.append(point)
            if len(points) >= chunk:
                yield points
                points = []
        if points:
            yield points


def summarize_file(path: Path, like: Summary) -> Summary:
    """The summary of a series file recomputed from its points (name, unit... from `like`)."""
    summary = like.blank()
    for points in read_points(path):
        steps, values, times = (list(column) for column in zip(*points, strict=True))
        summary.add(steps, values, times)
    summary.bytes = path.stat().st_size - len(HEADER)
    return summary


def is_fresh(path: Path, parts: Iterable[Summary]) -> bool:
    """Whether the writers' summaries cover every byte of the series file."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size == len(HEADER) + sum(p.bytes for p in parts)


class SeriesWriter:
    """This process's writer of one series of one step folder. Thread-safe: any thread may
    append to `points`; `flush` takes a lock (only flushes do)."""

    __slots__ = (
        "_auto",
        "_fd",
        "_lock",
        "_report",
        "data_path",
        "points",
        "summary",
        "summary_path",
    )

    def __init__(self, folder: Path, writer: str, summary: Summary, report: Report) -> None:
        self.points: list[Point] = []
        self.summary = summary
        stem = series_stem(summary.name, summary.context)
        self.data_path = folder / METRICS / f"{stem}.csv"
        self.summary_path = folder / METRICS / SUMMARIES / f"{stem}.{writer}.json"
        self._fd = -1
        self._auto = 0  # the step of the next point logged without one
        self._lock = threading.Lock()
        self._report = report

    def flush(self) -> None:
        """Append the waiting points to the file, then save the summary. Raises OSError."""
        with self._lock:
            waiting = len(self.points)
            if not waiting:
                return
            chunk = self.points[:waiting]
            del self.points[:waiting]
            steps, values, times, data = self._encode(chunk)
            if self._fd < 0:
                self._open()
            _write_all(self._fd, data)
            self.summary.add(steps, values, times)
            self.summary.bytes += len(data)
            self._save()

    def close(self) -> None:
        """Flush, then close the file (a later flush opens it again)."""
        try:
            self.flush()
        finally:
            with self._lock:
                if self._fd >= 0:
                    os.close(self._fd)
                    self._fd = -1

    def _encode(self, chunk: list[Point]) -> tuple[list[int], list[float], list[float], bytes]:
        steps: list[int] = []
        values: list[float] = []
        times: list[float] = []
        for step, value, logged in chunk:
            try:
                number = float(value)
                index = self._auto if step is None else int(step)
            except (TypeError, ValueError, OverflowError):
                self._dropped(value, step)
                continue
            self._auto = index + 1
            steps.append(index)
            values.append(number)
            times.append(logged)
        lines = map("{},{!r},{:.6f}\n".format, steps, values, times)
        return steps, values, times, "".join(lines).encode()

    def _dropped(self, value: Any, step: Any) -> None:
        self.summary.dropped += 1
        if self.summary.dropped == 1:
            self._report(
                f"metric {self.summary.name!r}: a value that is not a number ({value!r:.40}) or "
                f"a step that is not an integer ({step!r:.40}) was dropped; log numbers"
            )

    def _open(self) -> None:
        """Make the folders, save the summary (a file always has one), create the file with its
        header if no other process did, and open it for appending."""
        self.summary_path.parent.mkdir(parents=True, exist_ok=True)
        self._save()
        _create_with_header(self.data_path, self.summary_path.name)
        self._fd = os.open(self.data_path, os.O_WRONLY | os.O_APPEND)

    def _save(self) -> None:
        tmp = self.summary_path.with_name(f".{self.summary_path.name}.tmp")
        tmp.write_text(self.summary.to_json(), encoding="utf-8")
        os.replace(tmp, self.summary_path)


def _create_with_header(path: Path, unique: str) -> None:
    """Create `path` holding the header, atomically: it appears with its header or not at all
    (another process may be about to append to it)."""
    tmp = path.with_name(f".{unique}.tmp")
    tmp.write_bytes(HEADER)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: create it, a tiny race is left
        _create_exclusive(path)
    finally:
        tmp.unlink(missing_ok=True)


def _create_exclusive(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    try:
        _write_all(fd, HEADER)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
