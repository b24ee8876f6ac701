"""Validate a crate with roc-validator (Provenance Run Crate 0.5, REQUIRED level) offline.

roc-validator fetches the RO-Crate JSON-LD contexts from w3id.org on every run (its `--offline`
mode needs a cache filled while online). Every HTTP request it makes goes through `requests`
(its `HttpRequester`, and the JSON-LD loader it installs into rdflib), so `serve_contexts`
answers those requests at the transport (`HTTPAdapter.send`) from the context files in
tests/data/rocrate_contexts/ and refuses every other URL: nothing reaches the network.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import requests
from requests.adapters import HTTPAdapter

CONTEXTS = Path(__file__).resolve().parents[1] / "data" / "rocrate_contexts"
SERVED = {
    "https://w3id.org/ro/crate/1.1/context": "ro-crate-1.1.jsonld.gz",
    "https://w3id.org/ro/crate/1.2/context": "ro-crate-1.2.jsonld.gz",
    "https://w3id.org/ro/crate/1.3/context": "ro-crate-1.3.jsonld.gz",
    "https://w3id.org/ro/terms/workflow-run/context": "workflow-run.jsonld.gz",
}
PROFILE = "provenance-run-crate-0.5"


@contextmanager
def serve_contexts() -> Iterator[list[str]]:
    """While active, the context URLs are answered from local files; any other request fails
    with ConnectionError. Yields the list of URLs requested."""
    requested: list[str] = []

    def send(adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        url = str(request.url).rstrip("/")
        requested.append(url)
        if url.replace("http://", "https://", 1) not in SERVED:
            raise requests.ConnectionError(f"offline test: {url} is not served")
        response = requests.Response()
        response.status_code, response.url, response.request = 200, url, request
        response._content = gzip.decompress((CONTEXTS / SERVED[_https(url)]).read_bytes())
        response.headers["Content-Type"] = "application/ld+json"
        return response

    with mock.patch.object(HTTPAdapter, "send", send):
        yield requested


def _https(url: str) -> str:
    return url.replace("http://", "https://", 1)


def validation_issues(crate: Path) -> list[str]:
    """Every issue roc-validator finds at the REQUIRED level (empty: the crate is valid)."""
    from rocrate_validator import services
    from rocrate_validator.models import Severity, ValidationSettings

    settings = ValidationSettings(
        rocrate_uri=str(crate),
        profile_identifier=PROFILE,
        requirement_severity=Severity.REQUIRED,
        no_cache=True,
        skip_availability_check=True,
    )
    with serve_contexts(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's, inside the validator
        result = services.validate(settings)
    return [f"{i.check.identifier} {i.check.name}: {i.message}" for i in result.get_issues()]
