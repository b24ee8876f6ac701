"""The recording process's side of the sampler: start it on first use, tell it which steps to
watch, and collect each step's summary when the step ends.

One `Monitor` per recording process (Snakemake's main process, a Prefect flow's process, each
process-pool or Dask worker that runs tasks). A watch is sent to the sampler only once the step
has run for `WATCH_DELAY_S`, by a small sender thread: a step that ends sooner (a trivial task)
costs no message at all, and the sampler is started only when a step first needs it. The watch
carries the step's start (`CLOCK_MONOTONIC`, the same in every process), so the sampler's times
and energy cover the whole step. Only a step's summary waits for an answer, where it is collected
(`stop_later`: a Prefect task's by the flow's batch writer, not by the task). A sampler that
cannot start, or dies, turns into a reason recorded on the steps ("gauges": why), never an
exception.
"""

from __future__ import annotations

import functools
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

ANSWER_TIMEOUT_S = 10.0
WATCH_DELAY_S = 0.05  # steps that end sooner never reach the sampler
LINGER_S = 2.0  # the sender wakes every WATCH_DELAY_S this long after its last watch


def _wait_s(first: float | None, now: float, idle: bool) -> float | None:
    """How long the sender sleeps: until the first pending watch is due, a tick while it
    lingers, or until a watch wakes it."""
    if first is not None:
        return first + WATCH_DELAY_S - now
    return None if idle else WATCH_DELAY_S


@dataclass(frozen=True)
class Sampled:
    """What the sampler measured for one step (see `step_summary`)."""

    figures: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    series: Path | None = None


def unsampled(reason: str) -> Sampled:
    return Sampled(missing={"gauges": reason})


_SHORT = unsampled(f"the step lasted less than {WATCH_DELAY_S:g} s")  # shared: nobody changes it


class _Watch(NamedTuple):
    """A watch not sent yet (`Monitor.watch`); `roots` grows with `add_roots` until sent."""

    t0: float
    roots: list[int]
    series: str | os.PathLike[str] | None  # made text when sent (`_line`)
    series_after_s: float

    def message(self, step_id: str) -> dict[str, Any]:
        return {
            "op": "watch",
            "id": step_id,
            "roots": self.roots,
            "series": self.series,
            "series_after_s": self.series_after_s,
            "t0": self.t0,
        }


# Made as `_make` makes it, without the named tuple's Python-level `__new__` (once per step).
_new_watch = functools.partial(tuple.__new__, _Watch)


class Monitor:
    """Client of one sampler process; safe to share between threads."""

    def __init__(self, tick_s: float) -> None:
        self.tick_s = tick_s
        self.reason: str | None = "sampling is off (YPROV_SAMPLE_TICK=0)" if tick_s <= 0 else None
        self._process: subprocess.Popen[bytes] | None = None
        # A task never takes a lock here: its watch goes into `_pending` and leaves it with one
        # dict operation each (atomic under the GIL). `_pipe` guards the sampler process and
        # its pipes, held while a message is written or an answer awaited: only the sender
        # thread and steps that reached the sampler take it. A lock on every task's path was
        # held by the sender when Python switched threads, and a thread pool's tasks queued
        # behind it (30-40 waits in each `.map` flow of 200 trivial tasks, issue 12).
        self._pipe = threading.Lock()
        self._starting = threading.Lock()  # the sender thread is started once
        self._wake = threading.Event()  # set by a watch while the sender is idle
        self._pending: dict[str, _Watch] = {}  # watches not sent yet, by step
        self._sender: threading.Thread | None = None
        self._idle = False  # the sender waits with nothing pending: a new watch must wake it
        self._closed = False
        self._buffer = b""
        self._answers: dict[str, dict[str, Any]] = {}  # read, not yet asked for (`stop_later`)

    def watch(
        self,
        step_id: str,
        roots: list[int],
        series: str | os.PathLike[str] | None = None,
        series_after_s: float = 0,
    ) -> None:
        if self.reason is not None or self._closed:
            return
        # The message is made when sent (`_Watch.message`): most watches never are.
        self._pending[step_id] = _new_watch((time.monotonic(), list(roots), series, series_after_s))
        if self._sender is None:
            self._start_sender()
        elif self._idle:  # else it wakes by itself within WATCH_DELAY_S: no GIL hand-off
            self._wake.set()

    def _start_sender(self) -> None:
        with self._starting:
            if self._sender is None:
                sender = threading.Thread(target=self._send_due, daemon=True)
                sender.name = "yprov-sampler-watches"
                sender.start()
                self._sender = sender

    def add_roots(self, step_id: str, pids: list[int]) -> None:
        with self._pipe:  # the sender takes a watch from `_pending` and writes it under `_pipe`
            pending = self._pending.get(step_id)
            if pending is not None:
                pending.roots.extend(pids)
                return
            self._write({"op": "roots", "id": step_id, "pids": pids})

    def stop(self, step_id: str, duration_s: float) -> Sampled:
        """The step's summary (a step that was never sent to the sampler has none)."""
        return self.stop_later(step_id, duration_s)()

    def stop_later(self, step_id: str, duration_s: float) -> Callable[[], Sampled]:
        """Tell the sampler that the step ended, now; the function returned waits for its
        summary (a Prefect task's is awaited by the flow's batch writer, not by the task)."""
        if self._pending.pop(step_id, None) is not None or duration_s < WATCH_DELAY_S:
            return _known(unsampled(self.reason)) if self.reason is not None else _KNOWN_SHORT
        with self._pipe:  # after its watch (see `add_roots`)
            if not self._write({"op": "stop", "id": step_id}):
                return _known(unsampled(self.reason or "the sampler is not running"))
        return functools.partial(self._summary, step_id)

    def _summary(self, step_id: str) -> Sampled:
        with self._pipe:  # one reader at a time
            answer = self._read_answer(step_id)
        if answer is None:
            return unsampled(self.reason or "the sampler did not answer")
        return _sampled(answer.get("summary", {}))

    def close(self) -> None:
        self._closed = True
        self._pending.clear()
        self._wake.set()
        if self._sender is not None:
            self._sender.join(timeout=5)
        with self._pipe:
            process, self._process = self._process, None
            self._answers.clear()
        if process is not None and process.stdin is not None:
            process.stdin.close()  # the sampler exits at the end of its input
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _send_due(self) -> None:
        """The sender thread: watches go out once their step has lasted `WATCH_DELAY_S`."""
        quiet = 0.0  # how long nothing was pending
        while not self._closed:
            first = self._send_once()
            quiet = 0.0 if first is not None else quiet + WATCH_DELAY_S
            # Between the steps of a busy run it wakes by itself (`LINGER_S`): a new watch
            # needs no wake-up, and each one hands the GIL to this thread.
            idle = first is None and quiet > LINGER_S
            if idle:
                self._idle = True  # before looking again: a watch added now sets `_wake`
                if self._pending or self._closed:
                    self._idle = idle = False
            self._wake.wait(_wait_s(first, time.monotonic(), idle))
            self._wake.clear()
            self._idle = False

    def _send_once(self) -> float | None:
        """Send the watches that are due; return when the first one left began (None: none is
        pending). A watch is taken from `_pending` under `_pipe`: a step that no longer finds
        its watch there waits for it to be written (`stop_later`). Once closed, nothing is
        sent (`_stdin`)."""
        with self._pipe:
            now = time.monotonic()
            first: float | None = None
            for step_id, watch in list(self._pending.items()):  # a copy: tasks change it
                if watch.t0 + WATCH_DELAY_S > now:
                    first = watch.t0 if first is None else min(first, watch.t0)
                elif self._pending.pop(step_id, None) is not None:  # else it just ended
                    self._write(watch.message(step_id))  # a sampler started now: by this thread
        return first

    # -- the pipe ---------------------------------------------------------------------------

    def _write(self, message: dict[str, Any]) -> bool:
        pipe = self._stdin()
        if pipe is None:
            return False
        try:
            os.write(pipe.fileno(), _line(message))
            return True
        except OSError as problem:
            self._give_up(f"the sampler stopped: {problem.strerror or problem}")
            return False

    def _stdin(self) -> IO[bytes] | None:
        if self.reason is not None or self._closed:  # closed: no sampler started again
            return None
        if self._process is None:
            self._start()
        return self._process.stdin if self._process is not None else None

    def _start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "yprov_workflows.usage.sampler",
            "--tick",
            str(self.tick_s),
        ]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
            )
        except OSError as problem:
            self.reason = f"the sampler could not start: {problem}"

    def _read_answer(self, step_id: str) -> dict[str, Any] | None:
        """The answer for `step_id`: read before (the answers of steps whose summary is not
        awaited yet are kept), or from the lines that come (under `_pipe`)."""
        if step_id in self._answers:
            return self._answers.pop(step_id)
        process = self._process
        if process is None or process.stdout is None:
            return None
        fd = process.stdout.fileno()
        while True:
            if b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                answer: dict[str, Any] = json.loads(line)
                if answer.get("id") == step_id:
                    return answer
                if isinstance(answer.get("id"), str):
                    self._answers[answer["id"]] = answer
                continue
            readable, _, _ = select.select([fd], [], [], ANSWER_TIMEOUT_S)
            chunk = os.read(fd, 65536) if readable else b""
            if not chunk:
                self._give_up("the sampler did not answer" if not readable else "the sampler died")
                return None
            self._buffer += chunk

    def _give_up(self, reason: str) -> None:
        self.reason = reason
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()


def _line(message: dict[str, Any]) -> bytes:
    """A message as one line of JSON; a watch's series path (a path, or an object that names it
    when asked) is made text here. A path that cannot be named drops the series, not the watch."""
    try:
        text = json.dumps(message, default=os.fspath)
    except (TypeError, ValueError):
        text = json.dumps({**message, "series": None})
    return (text + "\n").encode()


def _known(sampled: Sampled) -> Callable[[], Sampled]:
    return lambda: sampled


_KNOWN_SHORT = _known(_SHORT)  # most steps: made once


def _sampled(summary: dict[str, Any]) -> Sampled:
    series = summary.get("series")
    return Sampled(
        figures=dict(summary.get("figures") or {}),
        sources=dict(summary.get("sources") or {}),
        missing=dict(summary.get("missing") or {}),
        series=Path(series) if series else None,
    )
