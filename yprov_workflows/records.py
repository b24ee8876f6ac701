"""The core records: what adapters produce and the journal stores.

Records are plain frozen dataclasses that know how to turn themselves into JSON-ready dicts and
back. They carry no PROV: `provjson` alone maps them to PROV.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from yprov_workflows.conformance import wrong_field
from yprov_workflows.values import Value

Status = Literal["completed", "failed", "cancelled", "incomplete", "cached"]


@dataclass(frozen=True)
class FileRecord:
    """One version of a file: its path as the workflow names it, size and content hash.

    A directory also lists the files below it as `members` (their paths joined to the directory's
    path), at most `hashing.MAX_MEMBERS` of them; `members_left_out` counts the rest.
    """

    path: str
    sha256: str | None
    size: int | None
    kind: Literal["file", "directory", "special", "missing"] = "file"
    members: tuple[FileRecord, ...] = ()
    members_left_out: int = 0


@dataclass(frozen=True)
class ValueRecord:
    """A value that is not a file (an argument or a result): its type, size and, when that is
    cheap, a digest. `preview` is the typed value itself for scalars, a bounded text otherwise."""

    type: str
    preview: Value | None = None
    size: int | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Usage:
    """Hardware a step consumed, as flat figures whose names end in their unit (`_s`, `_bytes`,
    `_pct`, `_w`, `_j`). `source` names where the exact counters come from and `note` qualifies
    them; `sources` names the source of each further group of figures (`gauges`, `gpu`,
    `gpu_energy`, `cpu_energy`), `missing` says why a group has no figures; `series` is the
    step's time-series file, for long steps."""

    figures: dict[str, Value] = field(default_factory=dict)
    source: str = "unmeasured"
    note: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    series: FileRecord | None = None


@dataclass(frozen=True)
class Code:
    """What a step ran: a shell command, a script path, inline code, a wrapper, a notebook."""

    kind: str
    text: str | None = None
    path: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class StepRecord:
    """One attempt of one step (a Snakemake job attempt, a Prefect task-run attempt).

    Besides files (`inputs`, `outputs`, `logs`, and `benchmarks`: files the engine wrote with
    measurements of the step) and typed `params`, a step may have `values` (arguments described
    by type, size and digest), `upstream` ((role, key) pairs: it used the result of the step with
    that key), `informed_by` (keys of steps it waited for without data), a `result` it returned,
    and the key of a `parent` step (a subflow) that started it.
    """

    run_id: str
    name: str
    key: str
    attempt: int
    started: datetime
    ended: datetime
    status: Status
    inputs: tuple[FileRecord, ...] = ()
    outputs: tuple[FileRecord, ...] = ()
    logs: tuple[FileRecord, ...] = ()
    benchmarks: tuple[FileRecord, ...] = ()
    params: dict[str, Value] = field(default_factory=dict)
    wildcards: dict[str, Value] = field(default_factory=dict)
    resources: dict[str, Value] = field(default_factory=dict)
    attributes: dict[str, Value] = field(default_factory=dict)
    code: Code | None = None
    usage: Usage = field(default_factory=Usage)
    values: dict[str, ValueRecord] = field(default_factory=dict)
    upstream: tuple[tuple[str, str], ...] = ()
    informed_by: tuple[str, ...] = ()
    result: ValueRecord | None = None
    parent: str | None = None
    error: str | None = None
    exit_code: int | None = None
    host: str | None = None
    pid: int | None = None

    @property
    def step_id(self) -> str:
        """Stable across processes: run, engine's job identity and attempt."""
        return f"{self.run_id}/{self.key}/{self.attempt}"


@dataclass(frozen=True)
class Agents:
    """Who and what ran the workflow."""

    user: str
    engine: str
    engine_version: str
    recorder_version: str


@dataclass(frozen=True)
class RunStart:
    """The opening record of a run."""

    run_id: str
    started: datetime
    agents: Agents
    workflow_path: str | None = None
    workflow_sha256: str | None = None
    workdir: str | None = None
    command_line: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    config: dict[str, Value] = field(default_factory=dict)
    host: str | None = None


@dataclass(frozen=True)
class RunEnd:
    """The closing record of a run; a journal without one belongs to an incomplete run."""

    run_id: str
    ended: datetime
    status: Status
    recording_errors: int = 0


Record = RunStart | StepRecord | RunEnd
KINDS: dict[str, type[RunStart] | type[StepRecord] | type[RunEnd]] = {
    "run_start": RunStart,
    "step": StepRecord,
    "run_end": RunEnd,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}
_NESTED: dict[str, Any] = {
    "agents": Agents,
    "code": Code,
    "usage": Usage,
}


def kind_of(record: Record) -> str:
    """The journal `kind` tag of a record."""
    kind = _KIND_OF.get(type(record))
    return kind if kind is not None else next(k for k, c in KINDS.items() if isinstance(record, c))


def to_json(record: Record) -> dict[str, Any]:
    """A JSON-ready dict: datetimes as ISO 8601, tuples as lists."""
    body = {f.name: _encode(getattr(record, f.name)) for f in dataclasses.fields(record)}
    return {"kind": kind_of(record), **body}


def to_line(record: Record) -> bytes:
    """The record as one journal line: the JSON of `to_json`, built in one `json.dumps` pass
    (datetimes and nested records are converted only where the encoder meets them)."""
    body = {"kind": kind_of(record), **_shallow(record)}
    text = json.dumps(body, separators=(",", ":"), allow_nan=False, default=_json_default)
    return (text + "\n").encode()


def _shallow(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in _field_names(type(value))}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _shallow(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def from_json(data: dict[str, Any]) -> Record:
    """Rebuild a record from `to_json` output. Raises KeyError/TypeError/ValueError on bad data,
    a field of the wrong type (a journal line changed by hand or on disk) included."""
    cls = KINDS[data["kind"]]
    kwargs = {
        f.name: _decode(f.name, data[f.name]) for f in dataclasses.fields(cls) if f.name in data
    }
    record = cls(**kwargs)
    wrong = wrong_field(record)
    if wrong is not None:
        raise TypeError(f"{data['kind']} record: {wrong} has the wrong type")
    return record


def _decode(name: str, value: Any) -> Any:
    if name in ("started", "ended"):
        return datetime.fromisoformat(value)
    if name in ("inputs", "outputs", "logs", "benchmarks"):
        return tuple(_file(v) for v in value)
    if name in ("command_line", "targets", "informed_by"):
        return tuple(value)
    if name == "upstream":
        return tuple((role, key) for role, key in value)
    if name == "values":
        return {k: ValueRecord(**v) for k, v in value.items()}
    if name == "result" and value is not None:
        return ValueRecord(**value)
    if name == "usage" and value is not None:
        series = value.get("series")
        return Usage(**{**value, "series": _file(series) if series else None})
    if name in _NESTED and value is not None:
        return _NESTED[name](**value)
    return value


def _file(data: dict[str, Any]) -> FileRecord:
    """A file record; journals written before directories had members read the same."""
    members = tuple(_file(m) for m in data.get("members", ()))
    return FileRecord(**{**data, "members": members})
