"""The recording process's side of the sampler: start it on first use, tell it which steps to
watch, and collect each step's summary when the step ends.

One `Monitor` per recording process (Snakemake's main process, a Prefect flow's process, each
process-pool or Dask worker that runs tasks). Writes to the sampler are single short lines;
only `stop` waits for an answer, and only for steps long enough to have been sampled. A sampler
that cannot start, or dies, turns into a reason recorded on the steps ("gauges": why), never an
exception in the workflow.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ANSWER_TIMEOUT_S = 10.0
MIN_SAMPLED_S = 0.05  # shorter steps are dropped without waiting: at most their first sample


@dataclass(frozen=True)
class Sampled:
    """What the sampler measured for one step (see `step_summary`)."""

    figures: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    series: Path | None = None


def unsampled(reason: str) -> Sampled:
    return Sampled(missing={"gauges": reason})


class Monitor:
    """Client of one sampler process; safe to share between threads."""

    def __init__(self, tick_s: float) -> None:
        self.tick_s = tick_s
        self.reason: str | None = "sampling is off (YPROV_SAMPLE_TICK=0)" if tick_s <= 0 else None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._buffer = b""

    def watch(
        self, step_id: str, roots: list[int], series: Path | None = None, series_after_s: float = 0
    ) -> None:
        path = str(series) if series is not None else None
        op = {"op": "watch", "id": step_id, "roots": roots, "series": path}
        self._send(op | {"series_after_s": series_after_s})

    def add_roots(self, step_id: str, pids: list[int]) -> None:
        self._send({"op": "roots", "id": step_id, "pids": pids})

    def stop(self, step_id: str, duration_s: float) -> Sampled:
        """The step's summary; a step shorter than `MIN_SAMPLED_S` is dropped without waiting."""
        if duration_s < MIN_SAMPLED_S:
            self._send({"op": "drop", "id": step_id})
            return unsampled(self.reason or f"the step lasted less than {MIN_SAMPLED_S:g} s")
        with self._lock:
            if not self._write({"op": "stop", "id": step_id}):
                return unsampled(self.reason or "the sampler is not running")
            answer = self._read_answer(step_id)
        if answer is None:
            return unsampled(self.reason or "the sampler did not answer")
        return _sampled(answer.get("summary", {}))

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.stdin is not None:
            process.stdin.close()  # the sampler exits at the end of its input
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- the pipe ---------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._write(message)

    def _write(self, message: dict[str, Any]) -> bool:
        pipe = self._stdin()
        if pipe is None:
            return False
        try:
            os.write(pipe.fileno(), (json.dumps(message) + "\n").encode())
            return True
        except OSError as problem:
            self._give_up(f"the sampler stopped: {problem.strerror or problem}")
            return False

    def _stdin(self) -> IO[bytes] | None:
        if self.reason is not None:
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
        """Lines until the answer for `step_id` (under the lock: one question at a time)."""
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


def _sampled(summary: dict[str, Any]) -> Sampled:
    series = summary.get("series")
    return Sampled(
        figures=dict(summary.get("figures") or {}),
        sources=dict(summary.get("sources") or {}),
        missing=dict(summary.get("missing") or {}),
        series=Path(series) if series else None,
    )
