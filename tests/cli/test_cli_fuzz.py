"""Fuzzing of the `yprov` command: on any input, no traceback, no hang, no stray write.

Every subcommand gets random JSON, JSON objects whose PROV keys hold random JSON, random bytes,
truncations and bit flips of a real document (`show`, `validate`, `metrics`, next to the metric
series file the document points to; `lineage` of a file and of a step, `diff` with itself and
with the real document, `verify`) and of a real journal (`export`,
which drives the journal reader), and a real document or journal record with one value replaced by
random JSON. Each example must end with an allowed exit code and
stderr lines that are all `yprov: error:` or `yprov: warning:` lines (exactly one error line on
exit 2, plus the verdict line of `validate` on exit 1; `diff` and `verify` say nothing on stderr
on exit 1), never an internal error, within the deadline, and leave every file but the output
path (`verify`: its hash cache) as it was. The many examples run in-process through click's
CliRunner; a few real processes check the same contract end to end.

Budget, as hypothesis settings profiles:

* "ci" (the default): 150 examples per property, derandomized so every run tries the same inputs;
  all properties together take well under a minute on two cores.
* "long": 5000 random examples per property (about 20 minutes on two cores), with hypothesis's
  example database (`.hypothesis/`, which ignores itself in git), on demand:

      YPROV_FUZZ=long .venv/bin/python -m pytest tests/cli/test_cli_fuzz.py -q

The deadline is 5 s per example (an example takes milliseconds): wide, since CI shares its cores,
yet a hang or a blow-up on a small input still fails.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from core.records_factory import T0, run_start, step  # tests/ is on sys.path (conftest)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from yprov_workflows.cli import main
from yprov_workflows.journal import JournalWriter
from yprov_workflows.provjson import build_document
from yprov_workflows.records import FileRecord, MetricSeries, RunEnd, StepRecord
from yprov_workflows.shape import RECORD_TYPES
from yprov_workflows.validation import validate

_COMMON = {
    "deadline": timedelta(seconds=5),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=150, derandomize=True, database=None, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
FUZZ = settings.get_profile("long" if os.environ.get("YPROV_FUZZ") == "long" else "ci")

ERROR, WARNING = "yprov: error: ", "yprov: warning: "

# Strategies: JSON values of every type, with surrogates, huge integers, NaN and infinities

_text = st.text(st.characters(exclude_categories=()), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(10**400), 10**400)
    | st.floats()
    | _text
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)

_PROV_KEYS = sorted(RECORD_TYPES | {"prefix", "bundle"})
_ATTRIBUTES = (
    "prov:type",
    "prov:startTime",
    "prov:endTime",
    "prov:time",
    "prov:activity",
    "prov:entity",
    "ywf:run_id",
    "ywf:status",
    "ywf:step_name",
    "ywf:cpu_total_s",
    "ywf:max_rss_bytes",
    "ywf:process_max_rss_bytes",
    "ywf:total_gpu_energy_j",
    "ywf:total_cpu_energy_attributed_j",
    "ywf:missing_gpu",
    "ywf:missing_cpu_energy",
)
_IDENTIFIERS = ("run:r1", "step:a", "step:b", "file:x")
_TELLING_VALUES = (
    "wfprov:WorkflowRun",
    "wfprov:ProcessRun",
    "ywf:File",
    "failed",
    "2026-01-01T00:00:00+00:00",
    "2025-01-01T00:00:00",
    *_IDENTIFIERS,
)
"""Values the summary and the structural checks look for, so fuzzing reaches their code."""

_identifiers = st.sampled_from(_IDENTIFIERS) | _text
_attributes = st.dictionaries(
    st.sampled_from(_ATTRIBUTES) | _text,
    st.sampled_from(_TELLING_VALUES) | json_values,
    max_size=8,
)
shaped_record_maps = st.dictionaries(
    _identifiers, _attributes | st.lists(_attributes, min_size=1, max_size=3), max_size=5
)
shaped_documents = st.dictionaries(st.sampled_from(sorted(RECORD_TYPES)), shaped_record_maps)
"""Documents shaped as PROV-JSON, whatever their attribute values: `show` must summarize them."""

_record_maps = st.dictionaries(
    _identifiers, _attributes | st.lists(_attributes | json_values, max_size=3) | json_values
)
_entries = _record_maps | st.dictionaries(_text, _text | json_values) | json_values
prov_keyed_objects = st.dictionaries(
    st.sampled_from(_PROV_KEYS),
    _entries
    | st.dictionaries(_identifiers, st.dictionaries(st.sampled_from(_PROV_KEYS), _entries)),
    max_size=6,
)
"""JSON objects with PROV keys holding anything: records, prefixes and bundles, right or wrong."""


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` cut short, or with a few bits flipped, or both."""
    out = bytearray(data)
    if draw(st.booleans()):
        flips = st.tuples(st.integers(0, len(data) - 1), st.integers(0, 7))
        for position, bit in draw(st.lists(flips, min_size=1, max_size=8)):
            out[position] ^= 1 << bit
    if draw(st.booleans()):
        del out[draw(st.integers(0, len(out))) :]
    return bytes(out) if out != data else data[:-1]


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """A copy of parsed JSON with one node below the top replaced by random JSON, or removed."""
    value = copy.deepcopy(value)
    *parents, key = draw(st.sampled_from(sorted(_paths(value), key=repr)))
    parent = functools.reduce(lambda node, step: node[step], parents, value)
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[key]
    else:
        parent[key] = draw(st.sampled_from(_TELLING_VALUES) | json_values)
    return value


def _paths(value: Any) -> Iterator[tuple[Any, ...]]:
    """The path (keys and indexes) of every node below `value`."""
    if not isinstance(value, dict | list):
        return
    for key, child in value.items() if isinstance(value, dict) else enumerate(value):
        yield (key,)
        yield from ((key, *path) for path in _paths(child))


# Real inputs to damage


def _steps() -> list[StepRecord]:
    """Three steps of a small pipeline, the last failed; file hashes fixed (the factory's vary
    with the hash seed of the process, and the inputs to damage must not)."""
    a, b = _file("a.txt"), _file("b.txt")
    return [
        replace(step(1), outputs=(a,), metrics=(_SERIES,), hyperparams={"lr": 0.1}),
        replace(step(2), inputs=(a,), outputs=(b,)),
        replace(step(3, status="failed"), inputs=(b,)),
    ]


def _file(path: str) -> FileRecord:
    return FileRecord(path, hashlib.sha256(path.encode()).hexdigest(), 10)


_SERIES_LINES = b"step,value,time\n0,1.5,1700000000.0\n1,0.5,1700000001.0\n"
_SERIES = MetricSeries(
    "loss",
    "training",
    "nats",
    "torch",
    _file("tracking/s/metrics/loss@training.csv"),
    count=2,
    first=1.5,
    last=0.5,
    min=0.5,
    max=1.5,
    min_step=1,
    max_step=0,
)


@functools.cache
def real_document() -> bytes:
    document = build_document(run_start(), _steps(), RunEnd("r1", T0 + timedelta(1), "failed"))
    assert validate(document).ok
    return json.dumps(document, indent=1).encode()


@functools.cache
def real_journal() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        with JournalWriter(path) as writer:
            for record in [run_start(), *_steps(), RunEnd("r1", T0 + timedelta(1), "failed")]:
                writer.append(record)
        return path.read_bytes()


# Running one example


def _tree(root: Path, skip: Path | None) -> dict[str, str]:
    """Every path below `root` but `skip`, with the hash of its content ('dir' for a folder)."""
    return {
        str(path.relative_to(root)): "dir"
        if path.is_dir()
        else hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path != skip
    }


@functools.cache
def _runner() -> CliRunner:
    return CliRunner()


QUIET_VERDICT = ("diff", "verify")
"""Commands whose exit status 1 (the runs differ, files changed) comes with no stderr line."""


def run_cli(root: Path, *args: str, output: Path | None = None) -> Result:
    """Run `yprov ARGS` in-process; nothing below `root` but `output` may change."""
    before = _tree(root, output)
    result = _runner().invoke(main, list(args))
    assert _tree(root, output) == before, f"yprov {args[0]} wrote outside {output}"
    unexpected = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not unexpected, "".join(traceback.format_exception(*result.exc_info or ()))
    assert_contract(result.exit_code, result.stderr, verdict=args[0] not in QUIET_VERDICT)
    event(f"{args[0]} exit {result.exit_code}")
    return result


def assert_contract(code: int, stderr: str, verdict: bool = True) -> None:
    """Exit 0, 1 or 2; stderr is one-line errors and warnings, never a traceback; on exit 1 one
    verdict line (`validate`), or none (`verdict=False`: diff, verify)."""
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith(ERROR)]
    others = [line for line in lines if not line.startswith((ERROR, WARNING))]
    expected_errors, expected_others = {0: (0, 0), 1: (0, int(verdict)), 2: (1, 0)}[code]
    assert (len(errors), len(others)) == (expected_errors, expected_others), stderr
    assert all(line.endswith(" problems)") for line in others), stderr


def check_document(content: bytes, *, shaped: bool = False) -> None:
    """`show` and `validate` on a document file: `show` succeeds on a PROV-JSON-shaped one."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.json"
        path.write_bytes(content)
        series = Path(tmp) / _SERIES.file.path
        series.parent.mkdir(parents=True)
        series.write_bytes(_SERIES_LINES)
        metrics = run_cli(Path(tmp), "metrics", str(path))
        assert metrics.exit_code in (0, 2)
        shown = run_cli(Path(tmp), "show", str(path))
        assert shown.exit_code in ((0,) if shaped else (0, 2)), shown.stderr
        validated = run_cli(Path(tmp), "validate", str(path))
        assert validated.exit_code in (0, 1, 2)
        if validated.exit_code == 0:
            assert shown.exit_code == 0, "a valid document is shaped as PROV-JSON"
        check_queries(Path(tmp), path, shown.exit_code == 0)


def check_queries(root: Path, path: Path, readable: bool) -> None:
    """`lineage`, `diff` and `verify` of a document: a result, or one line when it cannot be
    read (exit 2 exactly when `show` could not read it either)."""
    for target in ("a.txt", "rule1"):
        found = run_cli(root, "lineage", str(path), target, "--depth", "2")
        assert found.exit_code in ((0, 2) if readable else (2,))
    real = root / "real.json"
    real.write_bytes(real_document())
    assert run_cli(root, "diff", str(path), str(path)).exit_code == (0 if readable else 2)
    assert run_cli(root, "diff", str(real), str(path), "--json").exit_code in (
        (0, 1) if readable else (2,)
    )
    cache = path.with_name(f"{path.name}.verify-cache.json")
    checked = run_cli(root, "verify", str(path), output=cache)
    assert checked.exit_code in ((0, 1) if readable else (2,))
    real.unlink()


def check_journal(content: bytes) -> None:
    """`export` of a run folder whose journal is `content`: a valid document, or one line."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "run").mkdir()
        (root / "run" / "journal.jsonl").write_bytes(content)
        output = root / "out.json"
        result = run_cli(root, "export", str(root / "run"), "-o", str(output), output=output)
        assert result.exit_code in (0, 2)
        assert output.exists() == (result.exit_code == 0), "a document is written only on success"
        if result.exit_code == 0:
            report = validate(json.loads(output.read_bytes()))
            assert report.ok, report.problems


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _framed(text: bytes) -> bytes:
    """A journal line as the writer frames it: JSON text, a tab, its CRC-32."""
    return b"%s\t%08x" % (text, zlib.crc32(text))


# Properties


@FUZZ
@given(json_values)
def test_any_json_document(value: Any) -> None:
    check_document(_dumps(value))


@FUZZ
@given(prov_keyed_objects)
def test_objects_with_prov_keys(document: dict[str, Any]) -> None:
    check_document(_dumps(document))


@FUZZ
@given(shaped_documents)
def test_show_summarizes_every_document_shaped_as_prov_json(document: dict[str, Any]) -> None:
    check_document(_dumps(document), shaped=True)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_as_document_and_as_journal(content: bytes) -> None:
    check_document(content)
    check_journal(content)


@FUZZ
@given(st.data())
def test_damaged_document(data: st.DataObject) -> None:
    check_document(data.draw(damaged(real_document())))


@FUZZ
@given(st.data())
def test_damaged_journal(data: st.DataObject) -> None:
    check_journal(data.draw(damaged(real_journal())))


@FUZZ
@given(st.data())
def test_real_document_with_a_random_value(data: st.DataObject) -> None:
    check_document(_dumps(data.draw(mutated(json.loads(real_document())))))


@FUZZ
@given(st.data())
def test_journal_record_with_a_random_value(data: st.DataObject) -> None:
    """A record changed by hand, with a valid checksum: fields of the wrong type are damage."""
    header, *records = real_journal().splitlines()
    index = data.draw(st.integers(0, len(records) - 1))
    text = records[index].rpartition(b"\t")[0]
    records[index] = _framed(_dumps(data.draw(mutated(json.loads(text)))))
    check_journal(b"\n".join([header, *records, b""]))


@FUZZ
@given(st.lists(json_values | st.dictionaries(st.sampled_from(["kind", "run_id"]), json_values)))
def test_journal_with_random_json_lines(values: list[Any]) -> None:
    header, start, *_ = real_journal().splitlines(keepends=True)
    lines = [_framed(_dumps(value)) + b"\n" for value in values]  # checksums right: parsed
    check_journal(header + start + b"".join(lines))


# The same contract in real processes


def _yprov(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def _samples() -> Iterator[tuple[str, bytes]]:
    for text in ['{"entity": 5}', '{"entity": {"a": 5}}', '{"activity": {"a": 5}}']:
        yield "document", text.encode()
    yield "document", b'{"activity": []}'
    yield "document", b"null"
    yield "document", real_document()[: len(real_document()) // 2]
    yield "journal", b"\x00\xff\xfe binary"
    yield "journal", real_journal()[:-40]


@pytest.mark.parametrize(("kind", "content"), list(_samples()))
def test_real_process_gives_one_line_or_a_result(tmp_path: Path, kind: str, content: bytes) -> None:
    path = tmp_path / "run" / "journal.jsonl" if kind == "journal" else tmp_path / "doc.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    commands = [["export", str(path.parent)]]
    if kind == "document":
        commands = [["show"], ["validate"], ["metrics"], ["lineage", "a.txt"], ["verify"]]
        commands += [["diff", str(path)]]
    for command in commands:
        args = command if kind == "journal" else [command[0], str(path), *command[1:]]
        result = _yprov(*args)
        assert_contract(result.returncode, result.stderr, verdict=command[0] not in QUIET_VERDICT)
        assert result.returncode in ((0, 2) if command[0] != "validate" else (1, 2))
