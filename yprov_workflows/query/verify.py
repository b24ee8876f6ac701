"""`verify`: are the files a run recorded still on disk, with the content it recorded?

Each file entity with a path and a sha256 is checked once per path: the version the run made last
(the latest generation; for a file the run only read, the version it read). File paths are
relative to the run's working directory (`ywf:workdir`; where that folder no longer exists, the
folder that holds the output folder `.yprov`); the files the recording made (usage series,
metric series, the package list) are relative to the run folder. A directory is checked through
the files it lists as members. A missing file that a step wrote as a `temp()` output (Snakemake
deletes those once the jobs that need them are done; the step's `ywf:temp_outputs`) is "removed
(temp)", as meant, not a problem.

Re-hashing is cached: `verify-cache.json` in the run folder (next to a document found elsewhere:
`<document>.verify-cache.json`) keeps each file's sha256 with its identity (device, inode, size,
modification time in ns), as `hashing.FileHasher` does in memory, so an unchanged file costs one
`stat`, however big. Only regular files are read; `/proc`, `/sys` and `/dev` never are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from yprov_workflows.hashing import CHUNK
from yprov_workflows.query.graph import RunGraph, text, types_of
from yprov_workflows.query.source import RunSource

State = Literal["ok", "removed (temp)", "changed", "missing", "not a file", "unreadable"]
FINE: tuple[State, ...] = ("ok", "removed (temp)")  # a temp() output its engine deleted: as meant
CACHE_NAME = "verify-cache.json"
CACHE_VERSION = 1
_RECORDING_MADE = ("ywf:UsageTimeSeries", "provml:Metric", "ywf:PackageList")
_NEVER_READ = ("/proc/", "/sys/", "/dev/")


@dataclass(frozen=True)
class FileCheck:
    """One recorded file: its path as recorded, where it was looked for, and what was found."""

    path: str
    location: str
    entity: str
    state: State
    recorded_sha256: str
    found_sha256: str | None


@dataclass(frozen=True)
class Verification:
    """Every checked file, `ok` when none is missing or changed. `bytes_read`: bytes hashed now
    (0 when the cache knew every file); `from_cache`: files whose sha256 the cache knew;
    `unhashed`: files recorded without a sha256."""

    run_id: str | None
    workdir: str
    files: tuple[FileCheck, ...]
    unhashed: int
    bytes_read: int
    from_cache: int
    cache: str | None

    @property
    def problems(self) -> tuple[FileCheck, ...]:
        return tuple(f for f in self.files if f.state not in FINE)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_run(
    graph: RunGraph, source: RunSource, workdir: Path | None = None, use_cache: bool = True
) -> Verification:
    """Re-hash the recorded files of a run (see the module's docstring)."""
    base = workdir or _workdir(graph, source)
    cache = HashCache(_cache_path(source) if use_cache else None)
    recorded = list(_latest_versions(graph))
    temporary = _temp_outputs(graph)
    checks = []
    for entity, attrs in recorded:
        folder = source.run_dir if _made_by_recording(attrs) else base
        check = _check(entity, attrs, folder or base, cache)
        if check.state == "missing" and check.path in temporary:
            check = dataclasses.replace(check, state="removed (temp)")
        checks.append(check)
    cache.save()
    unhashed = sum(1 for e in graph.entities.values() if _is_file(e) and not _sha(e))
    where = str(cache.path) if cache.path is not None else None
    return Verification(
        graph.run_id, str(base), tuple(checks), unhashed, cache.bytes_read, cache.hits, where
    )


def _temp_outputs(graph: RunGraph) -> set[str]:
    """Paths the run's steps wrote as `temp()` outputs (`ywf:temp_outputs`, a JSON list)."""
    found: set[str] = set()
    for step in graph.steps.values():
        listed = text(step.attrs.get("ywf:temp_outputs"))
        if listed:
            with contextlib.suppress(ValueError, TypeError):
                found.update(str(p) for p in json.loads(listed))
    return found


def _workdir(graph: RunGraph, source: RunSource) -> Path:
    recorded = text(graph.run.get("ywf:workdir"))
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    if source.run_dir is not None:
        return source.run_dir.parent.parent  # <workdir>/.yprov/<run id>
    return source.given.resolve().parent


def _cache_path(source: RunSource) -> Path | None:
    if source.run_dir is not None:
        return source.run_dir / CACHE_NAME
    if source.document_path is not None:
        return source.document_path.with_name(f"{source.document_path.name}.{CACHE_NAME}")
    return None


def _is_file(attrs: Any) -> bool:
    kinds = types_of(attrs)
    return any(k in kinds for k in ("ywf:File", "ywf:Directory", *_RECORDING_MADE))


def _made_by_recording(attrs: Any) -> bool:
    return any(k in types_of(attrs) for k in _RECORDING_MADE)


def _sha(attrs: Any) -> str | None:
    return text(attrs.get("ywf:sha256"))


def _latest_versions(graph: RunGraph) -> Iterator[tuple[str, Any]]:
    """(entity, attributes) of the last version of every recorded file path."""
    best: dict[str, tuple[tuple[int, str], str]] = {}
    for entity, attrs in graph.entities.items():
        path = text(attrs.get("ywf:path"))
        if path is None or not _is_file(attrs) or not _sha(attrs) or attrs.get("ywf:missing"):
            continue
        rank = (_when(graph, entity), entity)
        if path not in best or rank > best[path][0]:
            best[path] = (rank, entity)
    for path in sorted(best):
        entity = best[path][1]
        yield entity, graph.entities[entity]


def _when(graph: RunGraph, entity: str) -> int:
    """Ordering of versions: by the end of the step that generated it, else of one that used it
    (microseconds; generated versions after used ones)."""
    ends = [graph.steps[s].end for s, _ in graph.generators.get(entity, ()) if s in graph.steps]
    times = [e for e in ends if e is not None]
    if times:
        return 2**62 + int(max(times) * 1e6)
    starts = [graph.steps[s].start for s, _ in graph.users.get(entity, ()) if s in graph.steps]
    return int(max((t for t in starts if t is not None), default=0.0) * 1e6)


def _check(entity: str, attrs: Any, folder: Path, cache: HashCache) -> FileCheck:
    path, recorded = str(attrs["ywf:path"]), str(attrs["ywf:sha256"])
    location = Path(path) if os.path.isabs(path) else folder / path
    if "ywf:Directory" in types_of(attrs):  # checked through its members
        state, found = cache.folder_state(location), None
    else:
        state, found = cache.state(location)
        if state == "ok" and found != recorded:
            state = "changed"
    return FileCheck(path, str(location), entity, state, recorded, found)


class HashCache:
    """sha256 of files by path, valid while the file's (device, inode, size, mtime_ns) stays;
    kept in a small JSON file (None: in memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.bytes_read = 0
        self.hits = 0
        self._entries: dict[str, list[Any]] = _load_cache(path) if path is not None else {}
        self._changed = False

    def state(self, location: Path) -> tuple[State, str | None]:
        """What is at `location`: ("ok", its sha256), or the problem and None."""
        key = os.path.abspath(location)
        info = _stat(key)
        if isinstance(info, str):
            return info, None
        if not stat.S_ISREG(info.st_mode):
            return "not a file", None
        digest = self._digest(key, [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns])
        return ("ok", digest) if digest is not None else ("unreadable", None)

    @staticmethod
    def folder_state(location: Path) -> State:
        info = _stat(os.path.abspath(location))
        if isinstance(info, str):
            return info
        return "ok" if stat.S_ISDIR(info.st_mode) else "not a file"

    def _digest(self, key: str, identity: list[int]) -> str | None:
        entry = self._entries.get(key)
        if entry is not None and entry[:4] == identity:
            self.hits += 1
            return str(entry[4])
        digest = self._hash(key)
        if digest is not None:
            self._entries[key] = [*identity, digest]
            self._changed = True
        return digest

    def _hash(self, key: str) -> str | None:
        digest = hashlib.sha256()
        try:
            with open(key, "rb", buffering=0) as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    self.bytes_read += len(chunk)
        except OSError:
            return None
        return digest.hexdigest()

    def save(self) -> None:
        """Write the cache if it learnt something; a folder we cannot write to keeps none."""
        if self.path is None or not self._changed:
            return
        data = json.dumps({"version": CACHE_VERSION, "files": self._entries})
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(data, encoding="ascii")
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def _stat(key: str) -> os.stat_result | State:
    """The file's status, or the problem."""
    if key.startswith(_NEVER_READ):
        return "not a file"
    try:
        return os.stat(key)
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return "unreadable"


def _load_cache(path: Path) -> dict[str, list[Any]]:
    """The cache's entries; an unreadable or foreign file counts as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("version") != CACHE_VERSION:
        return {}
    return {k: v for k, v in files.items() if _valid_entry(v)}


def _valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 5
        and all(type(v) is int for v in entry[:4])
        and isinstance(entry[4], str)
    )
