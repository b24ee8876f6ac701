"""PROV-O: the streamed N-Triples parse in rdflib, carry both relation forms and typed values, and
answer lineage questions with SPARQL; Turtle through rdflib holds the same triples."""

from __future__ import annotations

import builtins
import io
from typing import Any

import pytest
from conftest import ExampleRun

from yprov_workflows.errors import YProvError
from yprov_workflows.export import iter_ntriples, turtle_text, write_ntriples
from yprov_workflows.testing import RunDocument
from yprov_workflows.validation import validate

rdflib = pytest.importorskip("rdflib")
isomorphic = pytest.importorskip("rdflib.compare").isomorphic

PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
YWF = "https://w3id.org/yprov-workflows/ns#"
PREFIXES = f"PREFIX prov: <{PROV}>\nPREFIX ywf: <{YWF}>\nPREFIX wfprov: <http://purl.org/wf4ever/wfprov#>\n"
UPSTREAM = (
    PREFIXES
    + """
SELECT DISTINCT ?step ?name WHERE {
  ?report rdfs:label "report.md" .
  ?report (prov:wasGeneratedBy/prov:used)*/prov:wasGeneratedBy ?step .
  ?step a wfprov:ProcessRun ; ywf:step_name ?name .
}
"""
)


def graph_of(document: dict[str, Any]) -> Any:
    graph = rdflib.Graph()
    graph.parse(data="".join(iter_ntriples(document)), format="nt")
    return graph


def test_sparql_finds_the_reports_lineage_back_to_the_raw_data(snakemake_run: ExampleRun) -> None:
    graph = graph_of(snakemake_run.run.doc)
    steps = {str(row.name) for row in graph.query(UPSTREAM)}
    assert steps == {"report", "evaluate", "train", "prepare_data"}
    raw = (
        PREFIXES
        + """
SELECT DISTINCT ?label WHERE {
  ?report rdfs:label "report.md" .
  ?report (prov:wasGeneratedBy/prov:used)+ ?thing .
  ?thing rdfs:label ?label .
  FILTER NOT EXISTS { ?thing prov:wasGeneratedBy ?maker }
}
"""
    )
    found = {str(row.label) for row in graph.query(raw)}
    assert {"seed", "n_samples", "lr", "epochs"} <= found, found  # the raw data: parameters


def test_both_relation_forms_and_typed_values(example: ExampleRun) -> None:
    graph = graph_of(example.run.doc)
    step = example.run.steps("train")[0]
    subject = rdflib.URIRef(_iri(example.run, step["id"]))
    prov = rdflib.Namespace(PROV)
    plain = set(graph.objects(subject, prov.used))
    qualified = {
        graph.value(node, prov.entity) for node in graph.objects(subject, prov.qualifiedUsage)
    }
    assert plain and plain == qualified
    for node in graph.objects(subject, prov.qualifiedUsage):
        assert graph.value(node, rdflib.RDF.type) == prov.Usage
        assert graph.value(node, prov.atTime).datatype == rdflib.URIRef(XSD + "dateTime")
        assert str(graph.value(node, prov.hadRole)).startswith(YWF)
    assert set(graph.objects(subject, prov.wasAssociatedWith))
    start = graph.value(subject, prov.startedAtTime)
    assert start.datatype == rdflib.URIRef(XSD + "dateTime")
    attempt = graph.value(subject, rdflib.URIRef(YWF + "attempt"))
    assert attempt.datatype == rdflib.URIRef(XSD + "integer") and attempt.toPython() == 1
    cpu = graph.value(subject, rdflib.URIRef(YWF + "cpu_total_s"))
    assert cpu.datatype == rdflib.URIRef(XSD + "double")
    assert (
        subject,
        rdflib.RDF.type,
        rdflib.URIRef("http://purl.org/wf4ever/wfprov#ProcessRun"),
    ) in graph


def _iri(run: RunDocument, ident: str) -> str:
    prefix, local = ident.split(":", 1)
    return str(run.doc["prefix"][prefix]) + local


def test_every_name_is_a_full_iri_and_every_literal_is_typed_as_its_value() -> None:
    document = {
        "prefix": {"ex": "http://example.org/"},
        "entity": {
            "ex:e": {
                "prov:type": ["ex:Kind", "not a name"],
                "ex:flag": True,
                "ex:count": 3,
                "ex:ratio": 0.5,
                "ex:nan": float("nan"),
                "ex:text": 'line "one"\nline\ttwo \\ \x01 \udc80 é',
                "ex:when": {"$": "2026-01-01T00:00:00+00:00", "type": "xsd:dateTime"},
                "ex:lang": {"$": "bonjour", "lang": "fr"},
                "ex:ref": {"$": "ex:other", "type": "prov:QUALIFIED_NAME"},
                "other:x": "undeclared prefix",
            },
            "_:blank": {},
        },
        "activity": {"ex:a": {"prov:startTime": "2026-01-01T00:00:00+00:00"}},
        "wasGeneratedBy": {"_:g1": {"prov:entity": "ex:e", "prov:activity": "ex:a"}},
        "hadMember": {"_:m": {"prov:collection": "ex:e", "prov:entity": ["_:blank"]}},
        "bundle": {"ex:b": {"entity": {"ex:in_bundle": {}}}},
    }
    out = io.StringIO()
    count = write_ntriples(document, out)
    text = out.getvalue()
    graph = rdflib.Graph().parse(data=text, format="nt")
    assert len(graph) == count == text.count("\n")
    ex = rdflib.Namespace("http://example.org/")
    e = ex.e
    assert (e, rdflib.RDF.type, ex.Kind) in graph
    assert (e, rdflib.URIRef(PROV + "type"), rdflib.Literal("not a name")) in graph
    values = dict(graph.predicate_objects(e))
    assert values[ex["flag"]].toPython() is True
    assert values[ex["count"]].datatype == rdflib.URIRef(XSD + "integer")
    assert values[ex["ratio"]].datatype == rdflib.URIRef(XSD + "double")
    assert f'"NaN"^^<{XSD}double>' in text
    assert str(values[ex["text"]]) == 'line "one"\nline\ttwo \\ \x01 \ufffd é'
    assert values[ex["when"]].datatype == rdflib.URIRef(XSD + "dateTime")
    assert values[ex["lang"]].language == "fr"
    assert values[ex["ref"]] == ex.other
    assert any(str(p).startswith("https://w3id.org/yprov-workflows/ns/undeclared#") for p in values)
    assert (e, rdflib.URIRef(PROV + "wasGeneratedBy"), ex.a) in graph
    assert (ex.in_bundle, rdflib.RDF.type, rdflib.URIRef(PROV + "Entity")) in graph
    assert (ex.b, rdflib.RDF.type, rdflib.URIRef(PROV + "Bundle")) in graph
    members = list(graph.objects(e, rdflib.URIRef(PROV + "hadMember")))
    assert len(members) == 1 and isinstance(members[0], rdflib.BNode)


def test_turtle_holds_the_same_triples(snakemake_run: ExampleRun) -> None:
    document = snakemake_run.run.doc
    assert validate(document).ok
    turtle = rdflib.Graph().parse(data=turtle_text(document), format="turtle")
    assert isomorphic(turtle, graph_of(document))
    assert "@prefix ywf: <https://w3id.org/yprov-workflows/ns#>" in turtle_text(document)


def test_turtle_without_rdflib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_rdflib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "rdflib" or name.startswith("rdflib."):
            raise ImportError("No module named 'rdflib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rdflib)
    monkeypatch.delitem(__import__("sys").modules, "rdflib")
    with pytest.raises(YProvError, match=r"pip install 'yprov-workflows\[rdf\]'"):
        turtle_text({"entity": {}})
