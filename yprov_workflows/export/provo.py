"""PROV-O as N-Triples, streamed straight from the PROV-JSON dict (no RDF graph in memory).

Every relation gets both PROV-O forms, so that simple SPARQL works and nothing is lost:

- the plain triple (`step prov:used file`, `file prov:wasGeneratedBy step`,
  `step prov:wasAssociatedWith agent`, `step prov:wasInformedBy step`, ...);
- the qualified pattern (`step prov:qualifiedUsage _:q . _:q a prov:Usage; prov:entity file;
  prov:atTime ...; prov:hadRole ...`) carrying the relation's time, role, plan and other
  attributes.

A `prov:type` or `prov:role` that is a qualified name of a declared prefix (`wfprov:ProcessRun`,
`ywf:input`) becomes a resource (`rdf:type`, `prov:hadRole`); times are `xsd:dateTime`, integers
`xsd:integer`, floats `xsd:double`, booleans `xsd:boolean`, other values plain strings. Every
name is a full IRI of its declared namespace (a name of an undeclared prefix goes under
`UNDECLARED`). Records of bundles are written into the one graph, each bundle typed
`prov:Bundle` (N-Triples has no named graphs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import quote

from prov.constants import PROV, XSD

from yprov_workflows.vocabulary import BASE, short_hash

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
UNDECLARED = BASE + "ns/undeclared#"
"""Where names of prefixes the document does not declare are put."""

Attrs = Mapping[str, Any]
P = PROV.uri
A = f"<{RDF}type>"
XSD_DATETIME = f"^^<{XSD.uri}dateTime>"
XSD_INTEGER = f"^^<{XSD.uri}integer>"
XSD_DOUBLE = f"^^<{XSD.uri}double>"
XSD_BOOLEAN = f"^^<{XSD.uri}boolean>"
CHUNK = 20_000
"""Lines joined into one write."""

ELEMENTS = {"entity": "Entity", "activity": "Activity", "agent": "Agent"}


@dataclass(frozen=True)
class Relation:
    """How one PROV-JSON relation becomes PROV-O: the attribute naming its subject, the plain
    predicate and the attribute naming its object, the qualified class, and the predicate on the
    qualified node of each other formal attribute."""

    subject: str
    plain: str
    object: str
    qualifier: str | None = None
    formal: dict[str, str] = field(default_factory=dict)


_TIME = {"prov:time": "atTime"}
RELATIONS: dict[str, Relation] = {
    "used": Relation(
        "prov:activity", "used", "prov:entity", "Usage", {"prov:entity": "entity", **_TIME}
    ),
    "wasGeneratedBy": Relation(
        "prov:entity",
        "wasGeneratedBy",
        "prov:activity",
        "Generation",
        {"prov:activity": "activity", **_TIME},
    ),
    "wasInformedBy": Relation(
        "prov:informed",
        "wasInformedBy",
        "prov:informant",
        "Communication",
        {"prov:informant": "activity"},
    ),
    "wasStartedBy": Relation(
        "prov:activity",
        "wasStartedBy",
        "prov:trigger",
        "Start",
        {"prov:trigger": "entity", "prov:starter": "hadActivity", **_TIME},
    ),
    "wasEndedBy": Relation(
        "prov:activity",
        "wasEndedBy",
        "prov:trigger",
        "End",
        {"prov:trigger": "entity", "prov:ender": "hadActivity", **_TIME},
    ),
    "wasInvalidatedBy": Relation(
        "prov:entity",
        "wasInvalidatedBy",
        "prov:activity",
        "Invalidation",
        {"prov:activity": "activity", **_TIME},
    ),
    "wasDerivedFrom": Relation(
        "prov:generatedEntity",
        "wasDerivedFrom",
        "prov:usedEntity",
        "Derivation",
        {
            "prov:usedEntity": "entity",
            "prov:activity": "hadActivity",
            "prov:generation": "hadGeneration",
            "prov:usage": "hadUsage",
        },
    ),
    "wasAttributedTo": Relation(
        "prov:entity", "wasAttributedTo", "prov:agent", "Attribution", {"prov:agent": "agent"}
    ),
    "wasAssociatedWith": Relation(
        "prov:activity",
        "wasAssociatedWith",
        "prov:agent",
        "Association",
        {"prov:agent": "agent", "prov:plan": "hadPlan"},
    ),
    "actedOnBehalfOf": Relation(
        "prov:delegate",
        "actedOnBehalfOf",
        "prov:responsible",
        "Delegation",
        {"prov:responsible": "agent", "prov:activity": "hadActivity"},
    ),
    "wasInfluencedBy": Relation(
        "prov:influencee",
        "wasInfluencedBy",
        "prov:influencer",
        "Influence",
        {"prov:influencer": "influencer"},
    ),
    "specializationOf": Relation("prov:specificEntity", "specializationOf", "prov:generalEntity"),
    "alternateOf": Relation("prov:alternate1", "alternateOf", "prov:alternate2"),
    "hadMember": Relation("prov:collection", "hadMember", "prov:entity"),
}

_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\\ud800-\udfff]')
_BLANK_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_LANG = re.compile(r"[A-Za-z]+(-[A-Za-z0-9]+)*")
_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r"}
_ESCAPES.update({c: f"\\u{c:04X}" for c in range(0x20) if c not in _ESCAPES})
_QNAME_TYPES = ("prov:QUALIFIED_NAME", "xsd:QName")


def write_ntriples(document: Mapping[str, Any], stream: TextIO) -> int:
    """Write the document as PROV-O N-Triples to a text stream; return the number of triples."""
    count = 0
    for chunk in iter_ntriples(document):
        stream.write(chunk)
        count += chunk.count("\n")
    return count


def iter_ntriples(document: Mapping[str, Any]) -> Iterator[str]:
    """The N-Triples text of the document, in chunks of whole lines."""
    lines: list[str] = []
    for line_group in _containers(document):
        lines += line_group
        if len(lines) >= CHUNK:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


def _containers(document: Mapping[str, Any]) -> Iterator[list[str]]:
    names = Names(_prefixes(document, {}))
    yield from _records(document, names, "")
    bundles = document.get("bundle")
    for ident, bundle in bundles.items() if isinstance(bundles, Mapping) else ():
        if not isinstance(bundle, Mapping):
            continue
        inner = Names(_prefixes(bundle, names.namespaces))
        yield [f"{inner.node(ident)} {A} <{P}Bundle> .\n"]
        yield from _records(bundle, inner, f"{ident}/")


def _prefixes(container: Mapping[str, Any], outer: Mapping[str, str]) -> dict[str, str]:
    found = container.get("prefix")
    declared = (
        {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, Mapping) else {}
    )
    return {"prov": P, "xsd": XSD.uri, "rdf": RDF, "rdfs": RDFS, **outer, **declared}


def _records(container: Mapping[str, Any], names: Names, scope: str) -> Iterator[list[str]]:
    for kind, by_id in container.items():
        if not isinstance(by_id, Mapping) or kind in ("prefix", "bundle"):
            continue
        element, relation = ELEMENTS.get(kind), RELATIONS.get(kind)
        for ident, content in by_id.items():
            for index, attrs in enumerate(content if isinstance(content, list) else [content]):
                if not isinstance(attrs, Mapping) or not isinstance(ident, str):
                    continue
                if element is not None:
                    yield names.element(element, ident, attrs)
                elif relation is not None:
                    node = names.relation_node(kind, ident, scope, index)
                    yield names.relation(relation, node, attrs)


class Names:
    """Turns the names and values of one container (document or bundle) into N-Triples terms,
    remembering each name's IRI (names repeat on every record)."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces
        self._nodes: dict[str, str] = {}
        self._predicates: dict[str, str] = {}
        self._special: dict[str, Callable[[str, Any], Iterator[str]]] = {
            "prov:type": self._types,
            "prov:role": self._roles,
            "prov:label": self._fixed(f"<{RDFS}label>"),
            "prov:value": self._fixed(f"<{P}value>"),
            "prov:location": self._fixed(f"<{P}atLocation>"),
            "prov:startTime": self._times(f"<{P}startedAtTime>"),
            "prov:endTime": self._times(f"<{P}endedAtTime>"),
        }

    def element(self, cls: str, ident: str, attrs: Attrs) -> list[str]:
        subject = self.node(ident)
        lines = [f"{subject} {A} <{P}{cls}> .\n"]
        for key, value in attrs.items():
            lines += self.attribute(subject, key, value)
        return lines

    def relation(self, rel: Relation, node: str, attrs: Attrs) -> list[str]:
        """The plain triple and, for relations that have one, the qualified node `node`."""
        named = attrs.get(rel.subject)
        if not isinstance(named, str):
            return []  # not a relation we can state: its subject is missing
        subject = self.node(named)
        plain = f"<{P}{rel.plain}>"
        lines = [f"{subject} {plain} {self.node(o)} .\n" for o in _names(attrs.get(rel.object))]
        if rel.qualifier is not None:
            lines += self._qualified(rel, subject, node, attrs)
        return lines

    def _qualified(self, rel: Relation, subject: str, node: str, attrs: Attrs) -> list[str]:
        lines = [
            f"{subject} <{P}qualified{rel.qualifier}> {node} .\n",
            f"{node} {A} <{P}{rel.qualifier}> .\n",
        ]
        for key, value in attrs.items():
            if key == rel.subject:
                continue
            formal = rel.formal.get(key)
            if formal is None:
                lines += self.attribute(node, key, value)
            elif formal == "atTime":
                lines += self._times(f"<{P}atTime>")(node, value)
            else:
                lines += [f"{node} <{P}{formal}> {self.node(o)} .\n" for o in _names(value)]
        return lines

    def relation_node(self, kind: str, ident: str, scope: str, index: int) -> str:
        """The qualified node of a relation: its identifier, or a blank node for a blank one
        (`_:use7`), one inside a bundle or a second record under one identifier."""
        if not ident.startswith("_:") and not scope and index == 0:
            return self.node(ident)
        local = ident.removeprefix("_:")
        return _blank(f"q{kind}_{scope}{local}" + (f"_{index}" if index else ""))

    def attribute(self, subject: str, key: str, value: Any) -> Iterator[str]:
        """The triples of one attribute of a record."""
        special = self._special.get(key)
        if special is not None:
            return special(subject, value)
        predicate = self._predicates.get(key)
        if predicate is None:
            predicate = self._predicates[key] = self.node(key)
        return (f"{subject} {predicate} {o} .\n" for o in self._literals(value))

    def _fixed(self, predicate: str) -> Callable[[str, Any], Iterator[str]]:
        def triples(subject: str, value: Any) -> Iterator[str]:
            return (f"{subject} {predicate} {o} .\n" for o in self._literals(value))

        return triples

    def _times(self, predicate: str) -> Callable[[str, Any], Iterator[str]]:
        def triples(subject: str, value: Any) -> Iterator[str]:
            for item in value if isinstance(value, list) else [value]:
                text = item.get("$") if isinstance(item, Mapping) else item
                if isinstance(text, str):
                    yield f'{subject} {predicate} "{_escape(text)}"{XSD_DATETIME} .\n'

        return triples

    def _types(self, subject: str, value: Any) -> Iterator[str]:
        for item in value if isinstance(value, list) else [value]:
            iri = self._resource(item)
            if iri is not None:
                yield f"{subject} {A} {iri} .\n"
            else:
                yield from (f"{subject} <{P}type> {o} .\n" for o in self._literals(item))

    def _roles(self, subject: str, value: Any) -> Iterator[str]:
        for item in value if isinstance(value, list) else [value]:
            role = self._resource(item) or next(self._literals(item), None)
            if role is not None:
                yield f"{subject} <{P}hadRole> {role} .\n"

    def _resource(self, value: Any) -> str | None:
        """A qualified name of a declared prefix as an IRI (`wfprov:ProcessRun`), else None."""
        if isinstance(value, Mapping) and value.get("type") in _QNAME_TYPES:
            value = value.get("$")
        elif isinstance(value, Mapping):
            return None
        if not isinstance(value, str) or ":" not in value:
            return None
        prefix = value.split(":", 1)[0]
        return self.node(value) if prefix in self.namespaces and prefix != "_" else None

    def _literals(self, value: Any) -> Iterator[str]:
        for item in value if isinstance(value, list) else [value]:
            term = self._literal(item)
            if term is not None:
                yield term

    def _literal(self, value: Any) -> str | None:
        if isinstance(value, str):
            return f'"{_escape(value)}"'
        if isinstance(value, bool):
            return f'"{"true" if value else "false"}"{XSD_BOOLEAN}'
        if isinstance(value, int):
            return f'"{value}"{XSD_INTEGER}'
        if isinstance(value, float):
            return f'"{_double(value)}"{XSD_DOUBLE}'
        if isinstance(value, Mapping) and "$" in value:
            return self._typed(value)
        return None if value is None else f'"{_escape(str(value))}"'

    def _typed(self, value: Mapping[str, Any]) -> str:
        """A typed PROV-JSON value: `{"$": text, "type": datatype}` or `{"$": text, "lang": l}`."""
        text, datatype, lang = str(value["$"]), value.get("type"), value.get("lang")
        if datatype in _QNAME_TYPES:
            return self.node(text)
        if isinstance(datatype, str) and datatype != "xsd:string":
            return f'"{_escape(text)}"^^{self.node(datatype)}'
        if isinstance(lang, str) and _LANG.fullmatch(lang):
            return f'"{_escape(text)}"@{lang}'
        return f'"{_escape(text)}"'

    def node(self, name: str) -> str:
        """The N-Triples term of a name: `<IRI>` or, for `_:x`, a blank node."""
        found = self._nodes.get(name)
        if found is None:
            found = self._nodes[name] = self._expand(name)
        return found

    def _expand(self, name: str) -> str:
        prefix, colon, local = name.partition(":")
        if prefix == "_" and colon:
            return _blank(local)
        if not colon:
            base = self.namespaces.get("default", UNDECLARED)
            return f"<{base}{_iri_part(name)}>"
        if prefix in self.namespaces:
            return f"<{self.namespaces[prefix]}{_iri_part(local)}>"
        if local.startswith("//"):  # an absolute IRI written in full
            return f"<{_iri_part(name)}>"
        return f"<{UNDECLARED}{_iri_part(name)}>"


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _blank(label: str) -> str:
    safe = _BLANK_UNSAFE.sub("_", label)
    if safe != label:  # two labels that differ only in unsafe characters stay apart
        safe += f"_{short_hash(label, 10)}"
    return f"_:b{safe}"


def _iri_part(text: str) -> str:
    if not _IRI_UNSAFE.search(text):
        return text
    text = _SURROGATES.sub("\ufffd", text)
    return _IRI_UNSAFE.sub(lambda m: quote(m.group(), safe=""), text)


def _escape(text: str) -> str:
    escaped = text.translate(_ESCAPES)
    if not escaped.isascii():
        escaped = _SURROGATES.sub("\ufffd", escaped)  # a name that was not UTF-8
    return escaped


def _double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)
