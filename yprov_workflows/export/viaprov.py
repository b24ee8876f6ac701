"""PROV-N and PROV-JSON-LD, written by the `prov` library from the PROV-JSON document.

`prov` reads the document (its PROV-JSON reader) and writes PROV-N (the W3C notation) or
PROV-JSONLD (the W3C member submission "A JSON-LD Representation for the PROV Data Model", with
its context https://openprovenance.org/prov-jsonld/context.jsonld). Neither needs rdflib. Both
cost what `prov` costs: about 9 s each for a 10,000-step run on the 2-core VM.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from prov import Error as ProvError
from prov.model import ProvDocument, ProvFutureRejectionWarning

from yprov_workflows.errors import DocumentError


def provn_text(document: Mapping[str, Any]) -> str:
    """The document in PROV-N."""
    return str(_prov_document(document).serialize(format="provn"))


def jsonld_text(document: Mapping[str, Any]) -> str:
    """The document in PROV-JSONLD."""
    return str(_prov_document(document).serialize(format="jsonld"))


def _prov_document(document: Mapping[str, Any]) -> ProvDocument:
    """prov's reading of the document; what prov would drop with a warning is an error (the
    export would silently lose it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ProvFutureRejectionWarning)
            parsed = ProvDocument.deserialize(content=json.dumps(document), format="json")
    except (ProvError, ProvFutureRejectionWarning, ValueError, TypeError, KeyError) as exc:
        raise _unreadable(exc) from exc
    except (AttributeError, RecursionError) as exc:  # prov on shapes it does not expect
        raise _unreadable(exc) from exc
    return parsed


def _unreadable(exc: Exception) -> DocumentError:
    return DocumentError(
        f"the prov library cannot read the document ({type(exc).__name__}: {exc}); check it "
        "with `yprov validate`"
    )
