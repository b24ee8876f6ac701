"""Where a step's tracked values live: the folders and file names of a step channel.

    <run dir>/tracking/<step folder>/          one per step attempt (`StepChannel.open`)
      channel.json                             the step's key, start and settings (see `channel`)
      metrics/<series>.csv                     one metric series: `step,value,time` lines
      metrics/<series>.parquet                 the same, converted at the step's end (optional)
      metrics/summaries/<series>.<writer>.json what one writing process appended (see `series`)
      events/<writer>.jsonl                    params, artifacts, attributes, missing figures and
                                               problems that one process logged, one JSON per line

`<step folder>` is the step key made safe for a file name, cut to 60 characters, plus 8 hex digits
of its hash (two keys never share a folder), and after a dot 8 random hex digits of the attempt
(two attempts never share one). `<series>` is the metric's name, then `@` and its context if it has
one, each made safe (letters, digits, `.`, `_`, `-`); a name that had to be changed to be safe
gets `~` and 8 hex digits of its hash. `<writer>` is `<pid>-<6 random hex digits>`, one per
process that logged into the step.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yprov_workflows.vocabulary import safe, short_hash

TRACKING = "tracking"
CHANNEL_FILE = "channel.json"
METRICS = "metrics"
SUMMARIES = "summaries"
EVENTS = "events"
STEP_DIR_VARIABLE = "YPROV_STEP_DIR"
"""The environment variable that points a step's processes at its folder."""
STEP_INFO_VARIABLE = "YPROV_STEP_INFO"
"""The `channel.json` of a step folder not made yet: the first process that logs makes both."""
FORMAT_VARIABLE = "YPROV_METRICS_FORMAT"
"""`csv` (the default) or `parquet`: the format series are left in at the step's end."""
MAX_PART = 60


def safe_part(text: str) -> str:
    """`text` as a safe file-name part; changed texts get their hash, so two never collide."""
    made = safe(text)[:MAX_PART]
    return made if made == text else f"{made}~{short_hash(text, 8)}"


def series_stem(name: str, context: str | None) -> str:
    """The file name of a series without its suffix."""
    return safe_part(name) if context is None else f"{safe_part(name)}@{safe_part(context)}"


def step_folder_name(step_key: str) -> str:
    return f"{safe(step_key)[:MAX_PART]}-{short_hash(step_key, 8)}"


def new_step_folder(run_dir: Path, step_key: str) -> Path:
    """Create and return a fresh folder for one attempt of the step `step_key`."""
    root = run_dir / TRACKING
    root.mkdir(parents=True, exist_ok=True)
    base = step_folder_name(step_key)
    number = 1
    while True:
        folder = root / (base if number == 1 else f"{base}.{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            number += 1
            continue
        return folder


def planned_step_folder(run_dir: Path, step_key: str) -> Path:
    """A folder name for one attempt of `step_key` that no other attempt takes (this process's
    random token and a count), chosen without touching the disk: the first process that logs
    into it makes it. No system call: each one hands the GIL to the engine's busy threads."""
    token, count = _planning()
    return run_dir / TRACKING / f"{step_folder_name(step_key)}.{token}{next(count):x}"


@functools.cache
def _planning_for(pid: int) -> tuple[str, Iterator[int]]:
    return secrets.token_hex(3), itertools.count()


def _planning() -> tuple[str, Iterator[int]]:
    """This process's random token and counter (new ones in a forked child)."""
    return _planning_for(os.getpid())


def ensure_step_folder(folder: Path, info: str | None) -> None:
    """Make a planned step folder and its `channel.json` (from `info`, the JSON text) if they do
    not exist yet; several processes of one step may race here: each write is atomic."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CHANNEL_FILE
    if info is not None and not target.exists():
        tmp = folder / f".{CHANNEL_FILE}.{os.getpid()}.tmp"
        tmp.write_text(info, encoding="utf-8")
        os.replace(tmp, target)


def writer_id() -> str:
    """One writing process: its pid and a random part (pids are reused)."""
    return f"{os.getpid()}-{secrets.token_hex(3)}"


def read_info(folder: Path) -> dict[str, Any]:
    """The `channel.json` of a step folder; empty where it cannot be read."""
    try:
        data = json.loads((folder / CHANNEL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
