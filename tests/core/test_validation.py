"""Tests of yprov_workflows.validation: the four checks, the file reader, and a large document."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prov.model import ProvDocument

from yprov_workflows.errors import DocumentError
from yprov_workflows.validation import MAX_PROBLEMS, ValidationReport, validate, validate_file

Doc = dict[str, Any]


def small_document() -> Doc:
    """Two steps: ex:a1 reads ex:in and writes ex:mid, ex:a2 reads ex:mid and writes ex:out."""
    return {
        "prefix": {"ex": "http://example.org/"},
        "entity": {
            "ex:in": {"ex:size": 3, "ex:ratio": 0.5, "ex:cached": False},
            "ex:mid": {"ex:lines": {"$": "3", "type": "xsd:int"}, "prov:label": "middle"},
            "ex:out": {"ex:tags": ["a", "b"]},
            "ex:snakefile": {"prov:type": "prov:Plan"},
        },
        "activity": {
            "ex:a1": {
                "prov:startTime": "2026-01-01T00:00:00+00:00",
                "prov:endTime": "2026-01-01T00:01:00+00:00",
            },
            "ex:a2": {
                "prov:startTime": "2026-01-01T01:02:00+01:00",
                "prov:endTime": "2026-01-01T00:03:00Z",
                "ex:threads": 4,
            },
        },
        "agent": {"ex:engine": {"prov:type": "prov:SoftwareAgent"}},
        "used": {
            "_:u1": {
                "prov:activity": "ex:a1",
                "prov:entity": "ex:in",
                "prov:time": "2026-01-01T00:00:10+00:00",
            },
            "_:u2": {"prov:activity": "ex:a2", "prov:entity": "ex:mid"},
        },
        "wasGeneratedBy": {
            "_:g1": {
                "prov:activity": "ex:a1",
                "prov:entity": "ex:mid",
                "prov:time": "2026-01-01T00:00:50+00:00",
            },
            "_:g2": {"prov:activity": "ex:a2", "prov:entity": "ex:out"},
        },
        "wasAssociatedWith": {
            "_:w1": {
                "prov:activity": "ex:a1",
                "prov:agent": "ex:engine",
                "prov:plan": "ex:snakefile",
            }
        },
    }


def only_problem(report: ValidationReport, prefix: str) -> str:
    """The report's one problem, which must come from the check ``prefix``."""
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith(prefix), report.problems
    return report.problems[0]


def checks(report: ValidationReport) -> set[str]:
    return {problem.split(":", 1)[0] for problem in report.problems}


def test_small_valid_document_is_ok() -> None:
    report = validate(small_document())
    assert report.problems == ()
    assert report.ok


def test_report_is_not_ok_with_a_problem() -> None:
    assert not ValidationReport(("structure: something",)).ok


# Structure


def undeclared_endpoint(doc: Doc) -> None:
    doc["used"]["_:u3"] = {"prov:activity": "ex:a2", "prov:entity": "ex:ghost"}


def endpoint_of_the_wrong_kind(doc: Doc) -> None:
    doc["wasAssociatedWith"]["_:w1"]["prov:plan"] = "ex:a2"


def start_after_end(doc: Doc) -> None:
    doc["activity"]["ex:a2"]["prov:endTime"] = "2026-01-01T00:01:30+00:00"


def usage_before_start(doc: Doc) -> None:
    doc["used"]["_:u1"]["prov:time"] = "2025-12-31T23:59:59+00:00"


def generation_after_end(doc: Doc) -> None:
    doc["wasGeneratedBy"]["_:g1"]["prov:time"] = "2026-01-01T02:00:00+01:00"


def generated_twice(doc: Doc) -> None:
    doc["wasGeneratedBy"]["_:g3"] = {"prov:activity": "ex:a1", "prov:entity": "ex:out"}


def cycle(doc: Doc) -> None:
    doc["used"]["_:u3"] = {"prov:activity": "ex:a1", "prov:entity": "ex:out"}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (undeclared_endpoint, "prov:entity 'ex:ghost' is not a declared entity"),
        (endpoint_of_the_wrong_kind, "prov:plan 'ex:a2' is not a declared entity"),
        (start_after_end, "activity 'ex:a2' ends (2026-01-01T00:01:30+00:00) before it starts"),
        (usage_before_start, "used '_:u1': time 2025-12-31T23:59:59+00:00 is before activity"),
        (generation_after_end, "wasGeneratedBy '_:g1': time 2026-01-01T02:00:00+01:00 is after"),
        (generated_twice, "entity 'ex:out' is generated 2 times"),
        (cycle, "has a cycle of 4 edges: ex:a1 -> ex:mid -> ex:a2 -> ex:out -> ex:a1"),
    ],
)
def test_each_structural_violation_is_reported_alone(
    mutate: Callable[[Doc], None], expected: str
) -> None:
    doc = small_document()
    mutate(doc)
    assert expected in only_problem(validate(doc), "structure: ")


def test_using_what_it_generated_is_a_cycle() -> None:
    doc = small_document()
    doc["used"]["_:u3"] = {"prov:activity": "ex:a2", "prov:entity": "ex:out"}
    assert "cycle of 2 edges: ex:a2 -> ex:out -> ex:a2" in only_problem(
        validate(doc), "structure: "
    )


def test_a_diamond_is_not_a_cycle() -> None:
    doc = small_document()
    doc["used"]["_:u3"] = {"prov:activity": "ex:a2", "prov:entity": "ex:in"}
    assert validate(doc).ok


def test_every_undeclared_endpoint_is_reported() -> None:
    doc = small_document()
    doc["wasAssociatedWith"]["_:w1"]["prov:agent"] = "ex:nobody"
    doc["wasInformedBy"] = {"_:i1": {"prov:informed": "ex:a2", "prov:informant": "ex:a0"}}
    problems = validate(doc).problems
    assert len(problems) == 2, problems
    assert "prov:agent 'ex:nobody' is not a declared agent" in problems[0]
    assert "wasInformedBy '_:i1': prov:informant 'ex:a0' is not a declared activity" in problems[1]


def test_bundle_may_refer_to_its_own_and_to_top_level_elements() -> None:
    doc = small_document()
    doc["bundle"] = {
        "ex:run1": {
            "entity": {"ex:log": {}},
            "wasGeneratedBy": {"_:g9": {"prov:activity": "ex:a2", "prov:entity": "ex:log"}},
        }
    }
    doc["wasAttributedTo"] = {"_:t1": {"prov:entity": "ex:run1", "prov:agent": "ex:engine"}}
    assert validate(doc).problems == ()


def test_bundle_structure_is_checked() -> None:
    doc = small_document()
    doc["bundle"] = {
        "ex:run1": {
            "entity": {"ex:log": {}},
            "used": {
                "_:u9": {
                    "prov:activity": "ex:a1",
                    "prov:entity": "ex:log",
                    "prov:time": "2026-01-02T00:00:00+00:00",
                },
                "_:u8": {"prov:activity": "ex:a9", "prov:entity": "ex:log"},
            },
        }
    }
    problems = validate(doc).problems
    assert len(problems) == 2, problems
    assert problems[0].startswith("structure: used '_:u8' in bundle 'ex:run1': prov:activity")
    assert problems[1].startswith("structure: used '_:u9' in bundle 'ex:run1': time")


def test_top_level_does_not_see_bundle_elements() -> None:
    doc = small_document()
    doc["bundle"] = {"ex:run1": {"entity": {"ex:log": {}}}}
    doc["used"]["_:u3"] = {"prov:activity": "ex:a2", "prov:entity": "ex:log"}
    assert "'ex:log' is not a declared entity" in only_problem(validate(doc), "structure: ")


# Schema


@pytest.mark.parametrize(
    "time", ["yesterday", "2026-01-01T00:00:00", "2026-01-01 00:00:00", "2026-01-01T00:00+00:00"]
)
def test_activity_time_must_be_a_timezone_aware_date_time(time: str) -> None:
    doc = small_document()
    doc["activity"]["ex:a1"]["prov:startTime"] = time
    report = validate(doc)
    assert "schema" in checks(report), report.problems
    assert any("prov:startTime must be date-time" in p for p in report.problems)


@pytest.mark.parametrize("time", ["2026-01-01T00:00:10", "2026-01-01 00:00:10+00:00"])
def test_relation_time_must_be_a_timezone_aware_date_time(time: str) -> None:
    doc = small_document()
    doc["used"]["_:u1"]["prov:time"] = time
    problem = validate(doc).problems[0]
    assert problem == "schema: data.used._:u1.prov:time must be date-time"


def test_schema_rejects_an_unknown_record_type() -> None:
    doc = small_document()
    doc["wasUsedBy"] = {}
    assert "schema" in checks(validate(doc))


def test_was_ended_by_validates() -> None:
    doc = small_document()
    doc["wasEndedBy"] = {
        "_:e1": {"prov:activity": "ex:a1", "prov:trigger": "ex:in", "prov:ender": "ex:a2"}
    }
    assert validate(doc).problems == ()


def test_was_ended_by_is_still_checked() -> None:
    doc = small_document()
    doc["wasEndedBy"] = {"_:e1": {"prov:trigger": "ex:in"}}
    assert "schema: data.wasEndedBy._:e1 must contain" in validate(doc).problems[0]


def test_the_schema_typo_is_not_accepted() -> None:
    doc = small_document()
    doc["wasEndedby"] = {"_:e1": {"prov:activity": "ex:a1"}}
    assert "schema" in checks(validate(doc))


def test_relation_given_as_a_list_under_one_id() -> None:
    doc = small_document()
    doc["used"]["_:u2"] = [
        {"prov:activity": "ex:a2", "prov:entity": "ex:mid"},
        {"prov:activity": "ex:a2", "prov:entity": "ex:in", "prov:time": "2026-01-01T00:02:30Z"},
    ]
    assert validate(doc).problems == ()


def test_element_given_as_a_list_under_one_id() -> None:
    doc = small_document()
    doc["entity"]["ex:mid"] = [{"ex:lines": 3}, {"prov:label": "middle"}]
    assert validate(doc).problems == ()


def test_listed_relations_are_checked_one_by_one() -> None:
    doc = small_document()
    doc["wasGeneratedBy"]["_:g1"] = [
        {"prov:activity": "ex:a1", "prov:entity": "ex:mid"},
        {"prov:activity": "ex:a1", "prov:entity": "ex:mid", "prov:time": "2026-01-01T05:00:00Z"},
    ]
    problems = validate(doc).problems
    assert len(problems) == 2, problems
    assert "is after activity 'ex:a1' ends" in problems[0]
    assert "entity 'ex:mid' is generated 2 times" in problems[1]


def test_an_empty_list_is_a_schema_problem() -> None:
    doc = small_document()
    doc["used"]["_:u2"] = []
    assert validate(doc).problems[0] == "schema: data.used._:u2 must contain at least 1 items"


# Round trip and unification


def test_undeclared_prefix_fails_the_round_trip() -> None:
    doc = small_document()
    doc["entity"]["ex:in"]["zz:size"] = 3
    problem = only_problem(validate(doc), "roundtrip: ")
    assert "zz:size" in problem


def test_prov_future_rejection_is_a_round_trip_problem() -> None:
    doc = small_document()
    doc["entity"]["ex:in"]["ex:kind"] = {"$": "x", "type": "zz:weird"}
    problem = only_problem(validate(doc), "roundtrip: ProvFutureRejectionWarning: ")
    assert "zz:weird" in problem


def test_record_counts_are_compared_after_the_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    real_serialize = ProvDocument.serialize

    def lossy_serialize(self: ProvDocument, *args: Any, **kwargs: Any) -> str:
        written = json.loads(real_serialize(self, *args, **kwargs) or "{}")
        del written["entity"]["ex:in"]
        del written["bundle"]
        return json.dumps(written)

    monkeypatch.setattr(ProvDocument, "serialize", lossy_serialize)
    doc = small_document()
    doc["bundle"] = {"ex:run1": {"entity": {"ex:log": {}}}}
    assert validate(doc).problems == (
        "roundtrip: bundle: 1 records read, 0 written",
        "roundtrip: entity: 5 records read, 3 written",
    )


def test_a_membership_of_several_members_counts_as_several_records() -> None:
    doc = small_document()
    doc["hadMember"] = {"_:m1": {"prov:collection": "ex:in", "prov:entity": ["ex:mid", "ex:out"]}}
    report = validate(doc)
    # The schema wants one member per record; prov reads several, one record each.
    assert report.problems == ("schema: data.hadMember._:m1.prov:entity must be string",)


def test_membership_members_must_be_declared() -> None:
    doc = small_document()
    doc["hadMember"] = {"_:m1": {"prov:collection": "ex:in", "prov:entity": "ex:nothing"}}
    problem = only_problem(validate(doc), "structure: ")
    assert "hadMember '_:m1': prov:entity 'ex:nothing' is not a declared entity" in problem


def test_conflicting_records_fail_unification() -> None:
    doc = small_document()
    doc["activity"]["ex:a1"] = [
        {"prov:startTime": "2026-01-01T00:00:00+00:00"},
        {"prov:startTime": "2026-01-01T00:00:05+00:00"},
    ]
    problem = only_problem(validate(doc), "unification: ProvUnificationError: ")
    assert "ex:a1" in problem


def test_problems_are_capped() -> None:
    doc = small_document()
    for i in range(MAX_PROBLEMS + 10):
        doc["used"][f"_:x{i}"] = {"prov:activity": "ex:a1", "prov:entity": f"ex:ghost{i}"}
    problems = validate(doc).problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == "... and 10 more"


# Files


def test_validate_file_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(small_document()), encoding="utf-8")
    assert validate_file(path).ok
    assert validate_file(str(path)).ok


def test_validate_file_reports_problems(tmp_path: Path) -> None:
    doc = small_document()
    cycle(doc)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert checks(validate_file(path)) == {"structure"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.json", None, "does not exist"),
        ("folder", "", "is not a file"),
        ("broken.json", '{"entity": ', "is not valid JSON"),
        ("array.json", "[]", "holds JSON array at the top level"),
        ("latin1.json", b'{"entity": "\xe9"}', "cannot be read"),
    ],
)
def test_validate_file_rejects_unreadable_input(
    tmp_path: Path, name: str, content: str | bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "":
        path.mkdir()
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        validate_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


# Size


def large_document(activities: int) -> Doc:
    """A chain: activity i reads e{i} and one of 100 raw inputs and writes e{i+1}."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def at(seconds: int) -> str:
        return (t0 + timedelta(seconds=seconds)).isoformat()

    doc: Doc = {"prefix": {"ex": "http://example.org/"}, "entity": {}, "activity": {}}
    doc["entity"] = {f"ex:raw{k}": {"ex:k": k} for k in range(100)}
    doc["entity"].update({f"ex:e{i}": {"ex:size": i} for i in range(activities + 1)})
    doc["used"], doc["wasGeneratedBy"] = {}, {}
    for i in range(activities):
        a = f"ex:a{i}"
        doc["activity"][a] = {"prov:startTime": at(10 * i), "prov:endTime": at(10 * i + 5)}
        doc["used"][f"_:u{i}"] = {"prov:activity": a, "prov:entity": f"ex:e{i}"}
        doc["used"][f"_:u{i}"]["prov:time"] = at(10 * i + 1)
        doc["used"][f"_:r{i}"] = {"prov:activity": a, "prov:entity": f"ex:raw{i % 100}"}
        doc["wasGeneratedBy"][f"_:g{i}"] = {"prov:activity": a, "prov:entity": f"ex:e{i + 1}"}
    return doc


def test_ten_thousand_activities_validate() -> None:
    doc = large_document(10_000)
    assert sum(len(doc[kind]) for kind in ("used", "wasGeneratedBy")) == 30_000
    assert validate(doc).problems == ()


def test_a_long_cycle_is_found_without_recursion() -> None:
    doc = large_document(10_000)
    doc["used"]["_:back"] = {"prov:activity": "ex:a0", "prov:entity": "ex:e10000"}
    problem = only_problem(validate(doc), "structure: ")
    assert "has a cycle of 20000 edges: ex:a0 -> ex:e1 -> ex:a1" in problem
