"""`yprov export --format ...` on a run folder, the output folder, a document (both engines) and a
killed run; bad input is one line and exit 2; PROV-N and PROV-JSONLD come from the prov library
and read back into it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ExampleRun
from prov.model import ProvDocument

from yprov_workflows.export import jsonld_text, provn_text
from yprov_workflows.testing import RunDocument

rdflib = pytest.importorskip("rdflib")


def yprov(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert result.stderr.startswith("yprov: error: ") and result.stderr.count("\n") == 1
    return result.stderr


def test_provn_and_jsonld_are_the_prov_librarys_and_read_back(example: ExampleRun) -> None:
    document = example.run.doc
    records = len(ProvDocument.deserialize(content=json.dumps(document), format="json").records)
    provn = provn_text(document)
    assert provn.startswith("document") and "wasGeneratedBy(" in provn
    assert "prefix ywf <https://w3id.org/yprov-workflows/ns#>" in provn
    jsonld = jsonld_text(document)
    assert "https://openprovenance.org/prov-jsonld/context.jsonld" in json.loads(jsonld)["@context"]
    again = ProvDocument.deserialize(content=jsonld, format="jsonld")
    assert len(again.records) == records


@pytest.mark.slow
def test_every_format_from_a_run_folder_the_output_folder_and_a_document(
    example: ExampleRun, tmp_path: Path
) -> None:
    sources = {
        "run": example.run_dir,
        "out": example.out,
        "doc": example.out / "latest.prov.json",
    }
    for fmt, suffix in [("provn", "provn"), ("jsonld", "jsonld"), ("provo-nt", "nt")]:
        for name, source in sources.items():
            target = tmp_path / f"{name}.{suffix}"
            result = yprov("export", str(source), "--format", fmt, "-o", str(target))
            assert result.returncode == 0 and result.stdout == f"{target}\n", result.stderr
    nt = {rdflib.Graph().parse(tmp_path / f"{n}.nt", format="nt") for n in sources}
    assert len({len(g) for g in nt}) == 1, "the same triples from the folder, .yprov or the file"
    crate = yprov("export", str(example.out), "-f", "rocrate")
    default = example.run_dir / f"{example.run_dir.name}.crate.zip"
    assert crate.returncode == 0 and crate.stdout == f"{default}\n", crate.stderr
    assert default.is_file()


@pytest.mark.slow
def test_standard_output_turtle_and_the_default_json(snakemake_run: ExampleRun) -> None:
    result = yprov("export", str(snakemake_run.out), "-f", "provo-nt", "-o", "-")
    assert result.returncode == 0 and result.stdout.endswith(" .\n")
    assert rdflib.Graph().parse(data=result.stdout, format="nt")
    turtle = yprov("export", str(snakemake_run.out), "-f", "provo-ttl", "-o", "-")
    assert turtle.returncode == 0 and turtle.stdout.startswith("@prefix")
    document = snakemake_run.document_file
    before = document.stat().st_mtime_ns
    same = yprov("export", str(document))  # json, from the document itself: nothing to do
    assert same.returncode == 0 and same.stdout == f"{document}\n"
    assert document.stat().st_mtime_ns == before
    crate_to_stdout = one_error(yprov("export", str(document), "-f", "rocrate", "-o", "-"))
    assert "give -o PATH" in crate_to_stdout


@pytest.mark.slow
def test_a_killed_run_exports_marked_incomplete(incomplete_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "killed.json"
    assert yprov("export", str(incomplete_run), "-o", str(target)).returncode == 0
    run = RunDocument.load(target)
    run.assert_valid()
    assert run.run["ywf:status"] == "incomplete"
    result = yprov("export", str(incomplete_run), "-f", "provo-nt", "-o", "-")
    graph = rdflib.Graph().parse(data=result.stdout, format="nt")
    status = rdflib.URIRef("https://w3id.org/yprov-workflows/ns#status")
    assert rdflib.Literal("incomplete") in set(graph.objects(None, status))
    page = tmp_path / "killed.html"
    assert yprov("graph", str(incomplete_run), "-o", str(page)).returncode == 0
    assert "incomplete" in page.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"entity": {"e": ', "not valid JSON"),
        ('{"entity": 5}', "'entity' must be an object"),
        ('{"used": {"u": {"prov:activity": 5}}}', "the prov library cannot read the document"),
        ("[1, 2]", "holds JSON array at the top level"),
    ],
)
def test_bad_documents_are_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "doc.json"
    path.write_text(content)
    fmt = "provn" if "prov library" in message else "provo-nt"
    assert message in one_error(yprov("export", str(path), "-f", fmt, "-o", "-"))
    if "prov library" not in message:
        assert message in one_error(yprov("graph", str(path), "-o", str(tmp_path / "g.html")))
    assert not (tmp_path / "g.html").exists()


def test_what_is_not_a_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args in (
        ["export", str(tmp_path / "empty"), "-f", "provn"],
        ["export", str(tmp_path / "nope"), "-f", "rocrate"],
        ["graph", str(tmp_path / "empty"), "-o", str(tmp_path / "g.dot")],
        ["graph", str(tmp_path / "empty"), "-o", str(tmp_path / "g.png")],
    ):
        result = yprov(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"], "nothing written"
