"""Translate Prefect's run contexts into yprov-workflows core records. Knows Prefect, not PROV."""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yprov_workflows import __version__
from yprov_workflows.describe import describe, typed_preview
from yprov_workflows.environment import HOST, current_user, file_sha256
from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import Agents, Code, FileRecord, RunStart, ValueRecord
from yprov_workflows.redaction import REDACTED, Redactor
from yprov_workflows.values import Value


@dataclass
class Arguments:
    """A call's arguments sorted into files, upstream results, wait-for edges and plain values."""

    files: list[FileRecord] = field(default_factory=list)
    params: dict[str, Value] = field(default_factory=dict)
    values: dict[str, ValueRecord] = field(default_factory=dict)
    upstream: list[tuple[str, str]] = field(default_factory=list)
    informed_by: list[str] = field(default_factory=list)


def sort_arguments(
    parameters: Mapping[str, Any],
    task_inputs: Mapping[str, Iterable[Any]],
    hasher: FileHasher,
    redactor: Redactor,
) -> Arguments:
    """Paths become files; results of upstream task runs become upstream edges; the rest values."""
    found = Arguments()
    for name, value in parameters.items():
        inputs = task_inputs.get(name)
        upstream = _task_run_ids(inputs) if inputs else None
        if upstream:
            found.upstream += [(name, key) for key in upstream]
        paths = paths_in(value)
        if paths:
            records = [hasher.record(p) for p in paths]
            found.files += [r for r in records if r.kind != "missing"]  # to be written: no input
        elif not upstream:
            _add_value(found, name, value, redactor)
    waited = task_inputs.get("wait_for")
    found.informed_by = _task_run_ids(waited) if waited else []
    return found


def _add_value(found: Arguments, name: str, value: Any, redactor: Redactor) -> None:
    if redactor.is_secret_name(name):
        redactor.remember(value)
        found.params[name] = REDACTED
        return
    record = describe(value, redactor)
    found.params[name] = typed_preview(record)
    found.values[name] = record


def _task_run_ids(inputs: Iterable[Any]) -> list[str]:
    return [str(item.id) for item in inputs if getattr(item, "input_type", None) == "task_run"]


def paths_in(value: Any, limit: int = 1000) -> list[str]:
    """The path itself, or the paths directly inside a list, tuple, set or dict (values)."""
    if type(value) in PLAIN_TYPES:  # most arguments and results: no ABC checks (microseconds)
        return []
    if isinstance(value, os.PathLike):
        return [str(os.fspath(value))]
    items = value.values() if isinstance(value, Mapping) else value
    if not isinstance(value, list | tuple | set | frozenset | Mapping) or len(items) > limit:
        return []
    return [str(os.fspath(v)) for v in items if isinstance(v, os.PathLike)]


# Values nothing can change and that hold no path: numbers, text, bytes, None (exact types).
PLAIN_TYPES = frozenset({int, float, bool, str, bytes, type(None)})


def result_record(
    value: Any, hasher: FileHasher, redactor: Redactor, preview: bool
) -> tuple[tuple[FileRecord, ...], ValueRecord]:
    """Returned paths are generated files; every result is also described as a value, under the
    same rules as arguments (secret keys hidden, credential-shaped text never shown)."""
    files = tuple(hasher.record(path) for path in paths_in(value))
    return tuple(f for f in files if f.kind != "missing"), describe(value, redactor, preview)


def code_of(fn: Callable[..., Any]) -> Code:
    """The function's source file and a hash of its source text."""
    try:
        source = inspect.getsource(fn)
        path = inspect.getsourcefile(fn)
    except (OSError, TypeError):
        return Code("python", text=getattr(fn, "__qualname__", None))
    digest = hashlib.sha256(source.encode()).hexdigest()
    return Code("python", text=f"{fn.__module__}.{fn.__qualname__}", path=path, sha256=digest)


def prefect_agents() -> Agents:
    """Who and what runs a Prefect run: the user, Prefect and yprov-workflows, with versions."""
    import prefect

    return Agents(current_user(), "prefect", prefect.__version__, __version__)


def run_start(
    flow_run: Any, flow: Any, fn: Callable[..., Any], started: datetime, config: dict[str, Value]
) -> RunStart:
    """The opening record of a Prefect flow run."""
    targets = (f"flow:{flow.name}", f"flow_run:{flow_run.name}")
    return opening(str(flow_run.id), code_of(fn), targets, started, config)


def opening(
    run_id: str,
    code: Code,
    targets: tuple[str, ...],
    started: datetime,
    config: dict[str, Value] | None = None,
) -> RunStart:
    """The opening record of a run whose code is `code` (a flow's, or a task's run outside any
    flow: see `standalone`), in this process."""
    return RunStart(
        run_id=run_id,
        started=started,
        agents=prefect_agents(),
        workflow_path=code.path,
        workflow_sha256=file_sha256(code.path),
        workdir=os.getcwd(),
        command_line=tuple(sys.argv),
        targets=targets,
        config=config or {},
        host=HOST,
    )


def worker_identity() -> dict[str, Value]:
    """The Dask worker or Ray worker this task runs in (its address or ids), when it runs in one:
    looked up only where Dask or Ray is already imported (a lookup costs microseconds)."""
    found: dict[str, Value] = {}
    if "distributed" in sys.modules:
        found |= _dask_worker()
    if "ray" in sys.modules:
        found |= _ray_worker()
    return found


def _dask_worker() -> dict[str, Value]:
    try:
        from distributed import get_worker

        worker = get_worker()
    except Exception:  # ValueError: not in a worker (the flow's process, a thread pool)
        return {}
    found: dict[str, Value] = {"task_runner": "dask", "worker": str(worker.address)}
    if worker.name is not None and str(worker.name) != worker.address:
        found["worker_name"] = str(worker.name)
    return found


def _ray_worker() -> dict[str, Value]:
    try:
        import ray

        if not ray.is_initialized():
            return {}
        context = ray.get_runtime_context()
        if context.get_task_id() is None:  # the driver (the flow's process), not a Ray task
            return {}
        worker_id = str(context.get_worker_id())
        node_id = str(context.get_node_id())
    except Exception:
        return {}
    return {"task_runner": "ray", "worker": worker_id, "ray_node_id": node_id}
