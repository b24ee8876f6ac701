"""The software environment: captured once per run, cheaply, never failing, mapped to PROV."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from core.fake_nvml import FakeDevice, FakeNvml  # tests/ is on sys.path (conftest)
from core.records_factory import run_start, step
from query_docs import software

from yprov_workflows import software as sw
from yprov_workflows.errors import RecordingError
from yprov_workflows.journal import read_journal
from yprov_workflows.provjson import build_document
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import RunStart, from_json, to_json
from yprov_workflows.runs import journal_path
from yprov_workflows.settings import Settings
from yprov_workflows.testing import RunDocument
from yprov_workflows.usage import nvml


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_capture_describes_this_machine_and_python(tmp_path: Path) -> None:
    began = time.perf_counter()
    found = sw.capture(str(tmp_path), tmp_path / "run")
    took = time.perf_counter() - began
    print(f"capture took {took * 1000:.1f} ms")
    assert took < 2.0, "bounded cost (under 100 ms on the 2-core VM; a wide margin here)"
    assert found.python_implementation == "CPython" and found.os == "Linux"
    assert found.cpu_count and found.memory_total_bytes and found.kernel
    assert found.missing["git"] == "not in a git repository"
    listing = tmp_path / "run" / sw.PACKAGES_FILE
    assert found.packages is not None and found.packages.path == sw.PACKAGES_FILE
    assert found.packages.size == listing.stat().st_size
    lines = listing.read_text().splitlines()
    assert found.package_count == len(lines) > 10
    for name in ("click", "prov", "psutil"):
        assert f"{name}=={importlib.metadata.version(name)}" in lines


def test_distribution_folder_names_parse() -> None:
    assert sw._parse_info_name("PyYAML-6.0.1.dist-info") == ("pyyaml", "6.0.1")
    assert sw._parse_info_name("typing_extensions-4.12.2.dist-info") == (
        "typing-extensions",
        "4.12.2",
    )
    assert sw._parse_info_name("foo-1.0-py3.11.egg-info") == ("foo", "1.0")
    for name in ("foo.egg-info", "foo-.dist-info", "README.md", "-1.dist-info"):
        assert sw._parse_info_name(name) is None


def test_the_installed_list_is_read_again_only_when_a_folder_on_the_path_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "alpha-1.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr("sys.path", [str(site)])
    listings: list[str] = []
    listed = sw._listed
    monkeypatch.setattr(sw, "_listed", lambda folder: listings.append(folder) or listed(folder))
    assert sw._installed() == {"alpha": "1.0"}
    assert sw._installed() == {"alpha": "1.0"} and len(listings) == 2, "changed just now: again"
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for folder in (site, tmp_path):
        os.utime(folder, ns=(an_hour_ago, an_hour_ago))
    assert sw._installed() == {"alpha": "1.0"} and len(listings) == 3
    assert sw._installed() == {"alpha": "1.0"} and len(listings) == 3, "kept: listed once"
    (site / "beta-2.0.dist-info").mkdir()  # an install: the folder's modification time moves
    assert sw._installed() == {"alpha": "1.0", "beta": "2.0"} and len(listings) == 4
    os.utime(site, ns=(an_hour_ago, an_hour_ago + 1))
    assert sw._installed() == {"alpha": "1.0", "beta": "2.0"} and len(listings) == 5
    sw._installed()["gamma"] = "3.0"  # a caller's change never reaches the kept list
    assert sw._installed() == {"alpha": "1.0", "beta": "2.0"} and len(listings) == 5
    monkeypatch.setattr("sys.path", [str(site), str(tmp_path)])
    assert sw._installed() == {"alpha": "1.0", "beta": "2.0"} and len(listings) == 7
    assert sw._installed() == {"alpha": "1.0", "beta": "2.0"} and len(listings) == 7


def test_git_commit_and_dirty_state_of_the_workflows_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "a@b.c")
    git(repo, "config", "user.name", "a")
    (repo / "Snakefile").write_text("import click\nfrom prov.model import ProvDocument\n")
    assert sw.capture(str(repo), None).missing["git"] == "the repository has no commit yet"
    git(repo, "add", "Snakefile")
    git(repo, "commit", "-q", "-m", "x")
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / "output.txt").write_text("an untracked output")
    clean = sw.capture(str(tmp_path), None, workflow_path=str(repo / "Snakefile"))
    assert (clean.git_commit, clean.git_dirty) == (head, False), "untracked files: not dirty"
    (repo / "Snakefile").write_text("changed")
    dirty = sw.capture(str(repo), None, workflow_path="Snakefile")
    assert (dirty.git_commit, dirty.git_dirty, dirty.packages) == (head, True, None)


def test_no_git_is_a_reason_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    found = sw.capture(str(tmp_path), None)
    assert found.git_commit is None and found.missing["git"].startswith("git could not run")


def test_versions_of_the_engine_and_of_what_the_workflow_imports(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text("import os\nimport click\nfrom prov.model import X\nimport sklearn\n")
    found = sw.capture(str(tmp_path), None, engine="psutil", workflow_path=str(flow))
    assert found.versions == {
        "psutil": importlib.metadata.version("psutil"),
        "click": importlib.metadata.version("click"),
        "prov": importlib.metadata.version("prov"),
    }


class DriverNvml(FakeNvml):
    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"


def test_gpu_models_and_driver_from_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [FakeDevice("GPU-1", "NVIDIA H200", 150_000, 0, 0, 0, 0)]
    monkeypatch.setattr(nvml, "_import_pynvml", lambda: DriverNvml(devices))
    found = sw.capture(None, None)
    assert (found.gpus, found.gpu_driver) == (("NVIDIA H200",), "550.54.15")
    assert "gpu" not in found.missing
    monkeypatch.setattr(nvml, "_import_pynvml", lambda: None)
    assert sw.capture(None, None).missing["gpu"].startswith("no NVIDIA GPU library")


def test_the_record_survives_the_journal_and_becomes_an_entity_the_run_used() -> None:
    start = replace(run_start(), software=software(gpus=("NVIDIA H200",), missing={"git": "x"}))
    assert from_json(json.loads(json.dumps(to_json(start)))) == start
    doc = RunDocument(build_document(start, [step(1)], None))
    doc.assert_valid()
    (env,) = [e for e in doc.doc["entity"].values() if e["prov:type"] == "ywf:SoftwareEnvironment"]
    assert env["ywf:gpu_models"] == '["NVIDIA H200"]' and env["ywf:missing_git"] == "x"
    assert env["package:snakemake"] == "9.27.1" and env["ywf:python_version"] == "3.11.7"
    assert doc.inputs_of({"id": "run:r1"}, "ywf:environment") == {env["prov:label"]}
    assert doc.inputs_of({"id": "run:r1"}, "ywf:packages") == {"environment/packages.txt"}
    twin = build_document(replace(start, run_id="r2"), [], None)
    assert any(e == env for e in twin["entity"].values()), "one environment, one identifier"


def test_a_software_field_of_the_wrong_type_is_journal_damage() -> None:
    data: dict[str, Any] = to_json(replace(run_start(), software=software()))
    data["software"]["cpu_count"] = "two"
    with pytest.raises(TypeError, match="software"):
        from_json(data)


def test_the_recorder_captures_it_at_the_start(tmp_path: Path) -> None:
    recorder = Recorder(Settings(strict=True), tmp_path / ".yprov")
    recorder.start(run_start())
    recorder.record_step(step(1))
    document = recorder.finish("completed")
    assert document is not None
    (start,) = [r for r in read_journal(journal_path(document.parent)).records[:1]]
    assert isinstance(start, RunStart) and start.software is not None
    assert (document.parent / sw.PACKAGES_FILE).is_file()
    RunDocument.load(document).assert_valid()


def test_a_failed_capture_never_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("yprov_workflows.recorder.capture", broken)
    warnings: list[str] = []
    recorder = Recorder(Settings(), tmp_path / ".yprov", warn=warnings.append)
    recorder.start(run_start())
    document = recorder.finish("completed")
    assert document is not None and recorder.errors == 1
    assert "capturing the software environment failed: RuntimeError: boom" in warnings[0]
    strict = Recorder(Settings(strict=True), tmp_path / "strict")
    with pytest.raises(RecordingError):
        strict.start(run_start("r2"))
