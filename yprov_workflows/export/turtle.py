"""PROV-O as Turtle, through rdflib (the optional extra `rdf`).

The N-Triples of `provo` (both the plain and the qualified PROV-O forms) are parsed into an rdflib
graph and written as Turtle with the document's prefixes. This holds the whole graph in memory:
75 s and 2 GiB for a 10,000-step run, against 1.6 s for the N-Triples (docs/exports.md).
"""

from __future__ import annotations

import functools
import importlib
import io
from collections.abc import Mapping
from typing import Any

from prov.constants import XSD

from yprov_workflows.errors import YProvError
from yprov_workflows.export.provo import RDF, RDFS, iter_ntriples

RDF_HINT = "pip install 'yprov-workflows[rdf]'"


def turtle_text(document: Mapping[str, Any]) -> str:
    """The document's PROV-O in Turtle. YProvError with the install hint without rdflib."""
    try:
        rdflib = importlib.import_module("rdflib")
    except ImportError as exc:
        raise YProvError(f"Turtle needs rdflib: {RDF_HINT} (or export --format provo-nt)") from exc
    graph = rdflib.Graph()
    for prefix, iri in _prefixes(document).items():
        graph.bind(prefix, iri, override=True)
    graph.parse(data="".join(iter_ntriples(document)), format="nt")
    out = io.BytesIO()
    _exact_turtle()(graph).serialize(out, encoding="utf-8")
    return out.getvalue().decode("utf-8")


@functools.cache
def _exact_turtle() -> Any:
    """rdflib's Turtle writer, with doubles written in full: its shorthand for them (`1.5e+00`)
    keeps 7 significant digits, so 26396846.174 would come back as 26396850.0."""
    base: Any = importlib.import_module("rdflib.plugins.serializers.turtle").TurtleSerializer
    term = importlib.import_module("rdflib.term")
    double = term.URIRef(XSD.uri + "double")

    class ExactTurtle(base):  # type: ignore[misc]
        def label(self, node: Any, position: Any) -> Any:
            if isinstance(node, term.Literal) and node.datatype == double:
                qname = functools.partial(self.get_pname, gen_prefix=True)
                return node._literal_n3(use_plain=False, qname_callback=qname)
            return super().label(node, position)

    return ExactTurtle


def _prefixes(document: Mapping[str, Any]) -> dict[str, str]:
    found = document.get("prefix")
    declared = found if isinstance(found, Mapping) else {}
    named = {k: v for k, v in declared.items() if isinstance(v, str) and k != "default"}
    return {"rdf": RDF, "rdfs": RDFS, **named}
