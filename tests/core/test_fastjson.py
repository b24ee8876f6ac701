"""Journal lines and documents are encoded by orjson, and by `json` where orjson refuses a value:
both paths give text that parses back to the same records and documents."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from yprov_workflows.fastjson import encoded, string_forms
from yprov_workflows.journal import JournalWriter, read_journal
from yprov_workflows.records import Code, FileRecord, StepRecord, Usage, from_json, to_json, to_line
from yprov_workflows.redaction import Redactor
from yprov_workflows.runs import write_document

T0 = datetime(2026, 12, 2, 5, 0, 0, 123456, tzinfo=UTC)


def _step(**changes: Any) -> StepRecord:
    step = StepRecord(
        "r1",
        "train",
        "k1",
        1,
        T0,
        T0 + timedelta(seconds=1),
        "completed",
        params={"lr": 0.001, "tiny": 1e-05, "big": 1e16, "ok": True},
        outputs=(FileRecord("model.pt", "ab" * 32, 12),),
        code=Code("python", "train.main"),
        usage=Usage({"cpu_total_s": 1.2e-05, "max_rss_bytes": 2**40}, "rusage_thread"),
        attributes={"note": "naïve café ✓"},
    )
    return dataclasses.replace(step, **changes)


def test_a_line_is_the_records_json_as_the_standard_library_reads_it() -> None:
    step = _step()
    line = to_line(step)
    assert line.startswith(b'{"kind":"step",') and line.endswith(b"}\n") and line.count(b"\n") == 1
    assert json.loads(line) == to_json(step), "same values as the stdlib encoding of the record"
    assert from_json(json.loads(line)) == step
    assert "naïve café ✓".encode() in line, "UTF-8, not escaped"


def test_values_orjson_refuses_take_the_standard_library_path() -> None:
    huge = _step(params={"seed": 2**80}, name="bad\udc80name")  # beyond 64 bits; a lone surrogate
    line = to_line(huge)
    assert line.isascii(), "json's text, every non-ASCII character escaped"
    assert from_json(json.loads(line)) == huge
    other_zone = _step(started=datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))
    assert from_json(json.loads(to_line(other_zone))).started == other_zone.started


def test_both_kinds_of_line_are_read_back_from_one_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    steps = [_step(key="a"), _step(key="b", params={"seed": -(2**70)}), _step(key="c")]
    with JournalWriter(path) as journal:
        journal.append_all(steps)
    contents = read_journal(path)
    assert contents.records == tuple(steps) and contents.damaged_lines == 0


def test_a_secret_with_non_ascii_characters_is_found_in_either_kind_of_line() -> None:
    redactor = Redactor()
    redactor.hide("password", "pässwörd-1234")
    plain = to_line(_step(error="login failed: pässwörd-1234"))
    escaped = to_line(_step(error="login failed: pässwörd-1234", params={"n": 2**70}))
    assert plain != escaped and escaped.isascii()
    assert redactor.found_in(plain) and redactor.found_in(escaped)
    assert not redactor.found_in(to_line(_step()))
    assert len(string_forms("pässwörd")) == 2 and string_forms("plain") == (b"plain",)


def test_documents_are_compact_utf8_and_parts_orjson_refuses_are_escaped(tmp_path: Path) -> None:
    bucket = {f"ex:e{i}": {"prov:label": f"é {i}", "ex:n": i} for i in range(2500)}
    document = {
        "prefix": {"ex": "http://example.org/"},
        "entity": bucket,  # written in slices
        "activity": {"ex:a\udc80": {"ex:seed": 2**80}},  # refused by orjson
    }
    path = tmp_path / "doc.json"
    write_document(path, document)
    text = path.read_bytes()
    assert json.loads(text) == document
    assert "é 0".encode() in text and b"\\udc80" in text and b", " not in text[:200]
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left"


def test_encoded_appends_a_newline_on_either_path() -> None:
    assert encoded({"a": 1}, json.dumps, newline=True) == b'{"a":1}\n'
    assert encoded({"a": 2**65}, json.dumps, newline=True) == b'{"a": 36893488147419103232}\n'
