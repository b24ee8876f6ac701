"""Each export format: its default file name and how it is written (to a file or a stream).

| format | what | written by |
| --- | --- | --- |
| `json` | PROV-JSON (the document itself) | `json` |
| `provn` | PROV-N | the `prov` library |
| `jsonld` | PROV-JSONLD | the `prov` library |
| `provo-nt` | PROV-O, N-Triples, plain and qualified relations | `provo`, streamed |
| `provo-ttl` | PROV-O, Turtle | rdflib (the `rdf` extra) |
| `rocrate` | Workflow Run RO-Crate (Provenance Run Crate 0.5), a zip or a folder | `rocrate` |
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from yprov_workflows.errors import YProvError
from yprov_workflows.export.provo import write_ntriples
from yprov_workflows.export.rocrate import write_rocrate
from yprov_workflows.export.source import Located
from yprov_workflows.export.turtle import turtle_text
from yprov_workflows.export.viaprov import jsonld_text, provn_text
from yprov_workflows.runs import DOCUMENT_SUFFIX

Document = Mapping[str, Any]
SUFFIXES = {
    "json": DOCUMENT_SUFFIX,
    "provn": ".provn",
    "jsonld": ".jsonld",
    "provo-nt": ".nt",
    "provo-ttl": ".ttl",
    "rocrate": ".crate.zip",
}
FORMATS = tuple(SUFFIXES)
TEXTS: dict[str, Callable[[Document], str]] = {
    "json": lambda document: json.dumps(document, ensure_ascii=False),
    "provn": provn_text,
    "jsonld": jsonld_text,
    "provo-ttl": turtle_text,
}


def default_target(located: Located, fmt: str) -> Path:
    """`<run folder>/<run id><suffix>`: next to the run's journal or document."""
    return located.run_dir / f"{stem(located)}{SUFFIXES[fmt]}"


def stem(located: Located) -> str:
    """The run's name as its folder or document file gives it (`latest.prov.json` resolved)."""
    if located.kind == "journal":
        return located.path.resolve().name  # `.` has no name
    name = located.path.resolve().name
    return name.removesuffix(DOCUMENT_SUFFIX).removesuffix(".json") or "run"


def write_file(
    document: Document, fmt: str, target: Path, run_id: str, license: str | None = None
) -> None:
    """Write the document in `fmt` to `target` (a crate: a zip file or a folder); a file is
    written whole or not at all."""
    if fmt == "rocrate":
        write_rocrate(document, target, run_id=run_id, license=license)
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", errors="backslashreplace") as stream:
            write_stream(document, fmt, stream)
        os.replace(tmp, target)
    except OSError as exc:
        raise YProvError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_stream(document: Document, fmt: str, stream: TextIO) -> None:
    """Write a text format to a stream (standard output)."""
    if fmt == "rocrate":
        raise YProvError("a crate is a folder or a zip file: give -o PATH, not -o -")
    if fmt == "provo-nt":
        write_ntriples(document, stream)
        return
    stream.write(TEXTS[fmt](document))
    if fmt in ("json", "jsonld"):
        stream.write("\n")
