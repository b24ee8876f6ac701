"""Write a run as a Workflow Run RO-Crate (Provenance Run Crate 0.5): a folder, or a zip file.

The crate holds `ro-crate-metadata.json` (see `crate_metadata`), the run's PROV document
(`<run id>.prov.json`) and the workflow file (the Snakefile, the flow's module) when it is still
on disk with the content the run recorded. Nothing here needs the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from yprov_workflows.errors import YProvError
from yprov_workflows.export.crate_metadata import CrateParts, crate_metadata
from yprov_workflows.export.index import RunIndex, text

METADATA = "ro-crate-metadata.json"
SMALL = 5_000
"""Metadata of fewer entities is indented for people to read (json's fast encoder needs none)."""


@dataclass(frozen=True)
class Payload:
    """The files of a crate by their names in it: bytes to write, or a file to copy."""

    contents: dict[str, bytes | Path]


def write_rocrate(
    document: Mapping[str, Any],
    target: Path,
    *,
    run_id: str,
    license: str | None = None,
    created: datetime | None = None,
) -> Path:
    """Write the crate of `document` to `target`: a zip file when its name ends in `.zip`, a
    folder otherwise (new, empty, or an earlier crate, which is replaced). Returns `target`.

    Raises:
        YProvError: `target` cannot be written, or is a folder holding something else.
    """
    zipped = target.suffix.lower() == ".zip"
    _check_zip(target) if zipped else _check_folder(target)
    index = RunIndex.of(document)
    workflow = _workflow_file(index)
    document_name = f"{_file_name(run_id)}.prov.json"
    parts = CrateParts(workflow[0] if workflow else None, document_name, license, created)
    metadata = crate_metadata(index, parts)
    small = len(metadata["@graph"]) < SMALL
    contents: dict[str, bytes | Path] = {METADATA: _json_bytes(metadata, 1 if small else None)}
    contents[document_name] = _json_bytes(document, indent=None)
    if workflow:
        contents[workflow[0]] = workflow[1]
    payload = Payload(contents)
    _write_zip(payload, target) if zipped else _write_folder(payload, target)
    return target


def _workflow_file(index: RunIndex) -> tuple[str, Path] | None:
    """The workflow file (its name in the crate and its path) if it is on disk unchanged."""
    plan = index.entities.get(index.plan(index.run_id or "") or "", {})
    recorded = text(plan.get("ywf:path"))
    if recorded is None:
        warnings.warn(
            "the document names no workflow file: the crate has no main workflow file",
            stacklevel=3,
        )
        return None
    path = _find(recorded, text(index.run.get("ywf:workdir")))
    digest = text(plan.get("ywf:sha256"))
    if path is None or (digest is not None and _sha256(path) != digest):
        why = "is gone" if path is None else "has changed since the run"
        warnings.warn(
            f"the workflow file {recorded} {why}: the crate names it without its content",
            stacklevel=3,
        )
        return None
    return path.name, path


def _find(recorded: str, workdir: str | None) -> Path | None:
    path = Path(recorded)
    candidates = [path] if path.is_absolute() else [Path(workdir or ".") / path, path]
    return next((p for p in candidates if p.is_file()), None)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _json_bytes(value: Any, indent: int | None) -> bytes:
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a name that was not UTF-8: escaped
        return json.dumps(value, indent=indent).encode("ascii")


def _file_name(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in run_id) or "run"


def _check_zip(target: Path) -> None:
    _check_parent(target)
    if target.is_dir():
        raise YProvError(f"{target} is a folder; give the path of the zip file to write")


def _check_folder(target: Path) -> None:
    _check_parent(target)
    if target.exists() and not target.is_dir():
        raise YProvError(f"{target} is a file; give a new folder or a .zip path for the crate")
    if target.is_dir() and any(target.iterdir()) and not (target / METADATA).is_file():
        raise YProvError(
            f"{target} is a folder that holds files and is not a crate; give a new folder or a "
            ".zip path"
        )


def _write_zip(payload: Payload, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, content in payload.contents.items():
                if isinstance(content, Path):
                    archive.write(content, name)
                else:
                    archive.writestr(name, content)
        os.replace(tmp, target)
    except OSError as exc:
        raise YProvError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _write_folder(payload: Payload, target: Path) -> None:
    try:
        target.mkdir(exist_ok=True)
        for name, content in payload.contents.items():
            if isinstance(content, Path):
                shutil.copyfile(content, target / name)
            else:
                (target / name).write_bytes(content)
    except OSError as exc:
        raise YProvError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _check_parent(target: Path) -> None:
    if not target.parent.is_dir():
        raise YProvError(f"{target.parent} is not a folder; create it or give another -o PATH")
