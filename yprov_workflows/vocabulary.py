"""Namespaces and identifiers of the documents we write. Documented in docs/prov-model.md.

Identifiers come from what a thing is, never from a random draw: a step from the run, the engine's
stable job identity and the attempt; a file version from its path and content hash; a parameter
value from its name and value. Records written by different processes therefore merge without
coordination, and an unchanged input file has the same identifier in two runs.
"""

from __future__ import annotations

import functools
import hashlib
import re

from prov.constants import PROV, XSD

BASE = "https://w3id.org/yprov-workflows/"
NAMESPACES: dict[str, str] = {
    "prov": PROV.uri,
    "xsd": XSD.uri,
    "ywf": BASE + "ns#",
    "provml": BASE + "provml#",  # ProvML's type names (yProv4ML), which ProvML binds to no IRI
    "wfprov": "http://purl.org/wf4ever/wfprov#",
    "dcterms": "http://purl.org/dc/terms/",
    "wildcard": BASE + "ns/wildcard#",
    "resource": BASE + "ns/resource#",
    "config": BASE + "ns/config#",
    "package": BASE + "ns/package#",
    "run": BASE + "id/run/",
    "step": BASE + "id/step/",
    "artifact": BASE + "id/artifact/",
    "param": BASE + "id/param/",
    "metric": BASE + "id/metric/",
    "value": BASE + "id/value/",
    "plan": BASE + "id/plan/",
    "agent": BASE + "id/agent/",
    "environment": BASE + "id/environment/",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@functools.lru_cache(maxsize=4096)  # attribute names repeat on every step
def safe(text: str) -> str:
    """A local name made of letters, digits, '.', '_' and '-'."""
    return _UNSAFE.sub("-", text).strip("-") or "x"


def short_hash(text: str, length: int = 12) -> str:
    # surrogatepass: file names may be any bytes, which Python decodes to lone surrogates
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def run_id(run: str) -> str:
    return f"run:{safe(run)}"


def step_id(step: str) -> str:
    return f"step:{safe(step.replace('/', '_'))}"


def artifact_id(path: str, sha256: str | None) -> str:
    content = f"sha256-{sha256}" if sha256 else "unhashed"
    return f"artifact:{content}_{short_hash(path)}"


def param_id(name: str, value_json: str) -> str:
    return f"param:{safe(name)}_{short_hash(value_json, 16)}"


def metric_id(step: str, name: str, context: str | None) -> str:
    """A metric series of one step attempt (by its step id): one per name and context."""
    identity = short_hash(f"{step}\0{name}\0{context}", 12)
    return f"metric:{safe(name)}_{safe(context or 'none')}_{identity}"


def value_id(step_key: str) -> str:
    """The value a step (a Prefect task run, by its id) returned."""
    return f"value:{safe(step_key)}"


def plan_id(kind: str, name: str, digest: str | None) -> str:
    return f"plan:{safe(kind)}_{safe(name)}_{(digest or 'unknown')[:12]}"


def agent_id(kind: str, name: str) -> str:
    return f"agent:{safe(kind)}_{safe(name)}"


def environment_id(description_json: str) -> str:
    """A software environment, by its description: the same environment has the same identifier
    in every run."""
    return f"environment:{short_hash(description_json, 16)}"
