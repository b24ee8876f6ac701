"""`yprov graph`: DOT, SVG (Graphviz) and the offline HTML page, opened in a real headless
Chromium with the network off: a screenshot, the steps drawn, a group expanded and a step's
attributes shown on a click."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cdp_browser import Browser, install_chromium
from conftest import ExampleRun

from yprov_workflows.export.graph import COLOURS, WorkflowGraph, dot_text
from yprov_workflows.export.html import html_page
from yprov_workflows.provjson import build_document
from yprov_workflows.records import Agents, FileRecord, RunEnd, RunStart, StepRecord
from yprov_workflows.testing import RunDocument

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def yprov(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def steps_document(count: int, failed: int = 0) -> dict[str, Any]:
    """A run of `count` steps of one rule, each reading the first step's output."""
    source = FileRecord("data/raw.csv", "a" * 64, 10)
    steps = [
        StepRecord(
            "r", "prep", "k0", 1, T0, T0 + timedelta(seconds=1), "completed", outputs=(source,)
        )
    ]
    for i in range(1, count + 1):
        status = "failed" if i <= failed else "completed"
        out = FileRecord(f"out/{i}.txt", f"{i:064x}", 1)
        start = T0 + timedelta(seconds=2)
        steps.append(
            StepRecord(
                "r",
                "work",
                f"k{i}",
                1,
                start,
                start + timedelta(seconds=1),
                status,
                inputs=(source,),
                outputs=(out,),
                wildcards={"i": i},
            )
        )
    start = RunStart("r", T0, Agents("u", "snakemake", "9", "0"))
    document = build_document(start, steps, RunEnd("r", T0 + timedelta(seconds=9), "failed"))
    RunDocument(document).assert_valid()
    return document


def test_dot_draws_steps_files_and_status_colours() -> None:
    graph = WorkflowGraph.of(steps_document(3, failed=1))
    dot = dot_text(graph)
    assert dot.startswith("digraph workflow {") and dot.rstrip().endswith("}")
    assert '"work i=1"' in dot and "out/3.txt" in dot and "data/raw.csv" in dot
    assert COLOURS["failed"] in dot and COLOURS["completed"] in dot
    grouped = dot_text(graph, all_steps=False)
    assert '"work x3"' in grouped and '"2 files from work"' in grouped  # a failure made none
    assert '"step/prep" -> "data/prep"' in grouped and '"data/prep" -> "step/work"' in grouped
    assert COLOURS["failed"] in grouped  # a group shows its worst member's status


def test_the_graph_of_each_engines_run(example: ExampleRun) -> None:
    graph = WorkflowGraph.of(example.run.doc)
    steps = {n.id for n in graph.nodes.values() if n.kind == "step"}
    assert steps == {s["id"] for s in example.run.steps()}
    assert all(e.source in graph.nodes and e.target in graph.nodes for e in graph.edges)
    made = {e.target for e in graph.edges if e.kind == "generated"}
    report = next(n for n in graph.nodes.values() if n.label == "report.md")
    assert report.id in made and graph.groups[report.group].label == "from report"
    dot = dot_text(graph)
    assert all(name in dot for name in ("prepare_data", "train", "evaluate", "report"))
    data = json.loads(html_page(graph, "r").split('id="yprov-data">')[1].split("</script>")[0])
    assert {g["l"] for g in data["groups"] if g["k"] == "step"} >= {"train", "evaluate"}


def test_many_steps_are_grouped_in_dot_unless_all_are_asked() -> None:
    graph = WorkflowGraph.of(steps_document(250))
    assert "work i=17" not in dot_text(graph) and "work x250" in dot_text(graph)
    assert "work i=17" in dot_text(graph, all_steps=True)


def test_svg_needs_graphviz_and_says_so(tmp_path: Path) -> None:
    document = tmp_path / "doc.json"
    document.write_text(json.dumps(steps_document(2)))
    no_dot = {**os.environ, "PATH": str(tmp_path / "empty")}
    result = yprov("graph", str(document), "-o", str(tmp_path / "g.svg"), env=no_dot)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "needs Graphviz's `dot`" in result.stderr and "apt-get install graphviz" in result.stderr
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text('#!/bin/sh\n[ "$1" = -Tsvg ] && echo "<svg>$(wc -l)</svg>"\n')
    (fake / "dot").chmod(0o755)
    with_dot = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    result = yprov("graph", str(document), "-o", str(tmp_path / "g.svg"), env=with_dot)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"<svg>\d+</svg>\n", (tmp_path / "g.svg").read_text())


def test_the_page_is_self_contained() -> None:
    page = html_page(WorkflowGraph.of(steps_document(2)), "run <r>")
    assert "<title>run &lt;r&gt;</title>" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page
    data = page.split('id="yprov-data">', 1)[1].split("</script>", 1)[0]
    assert len(json.loads(data)["nodes"]) == 3 + 3  # steps; the raw file and two outputs


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return install_chromium()
    except RuntimeError as exc:
        pytest.skip(f"no headless Chromium: {exc}")


@pytest.mark.slow
def test_the_page_in_headless_chromium_with_the_network_off(
    snakemake_run: ExampleRun, chromium: str, tmp_path: Path
) -> None:
    page = tmp_path / "graph.html"
    result = yprov("graph", str(snakemake_run.out), "-o", str(page))
    assert result.returncode == 0 and result.stdout.strip() == str(page), result.stderr
    with Browser.start(chromium, tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        browser.wait_for("document.body && document.body.dataset.ready")
        shot = browser.screenshot(tmp_path / "graph.png")
        drawn = browser.evaluate(NODES)
        assert sorted(drawn) == sorted(
            [
                "step:prepare_data",
                "step:train \u00d72",
                "step:evaluate \u00d72",
                "step:report",
                "step:all",
                "file:2 files from prepare_data",
                "file:2 files from train",
                "file:2 files from evaluate",
                "file:2 files from report",
            ]
        ), drawn
        browser.click(*browser.evaluate(CENTRE % "train \u00d72"))
        assert "2 steps" in browser.wait_for(f"{PANEL}.includes('2 steps') && {PANEL}")
        browser.click(*browser.evaluate(BUTTON % "expand"))
        browser.wait_for(f"{NODES}.some(n => n.startsWith('step:train lr='))")
        trains = [d for d in browser.evaluate(NODES) if d.startswith("step:train lr=")]
        assert sorted(trains) == ["step:train lr=0.05", "step:train lr=0.5"]
        panel = _select(browser, "train lr=0.5", "wildcard:lr0.5")
        assert "ywf:cpu_total_s" in panel and "parameters" in panel, panel
        before = browser.evaluate(VIEW)
        browser.call("Input.dispatchMouseEvent", WHEEL)  # handled after the reply, maybe
        browser.wait_for(f"{VIEW} !== {json.dumps(before)}", timeout=10)  # the wheel zooms
        requested = browser.requested_urls()
    assert requested and all(url.startswith(("file:", "data:")) for url in requested), requested
    check_screenshot(shot)


def _select(browser: Browser, label: str, shown: str) -> str:
    """Click a node and wait for its attributes in the panel. Under heavy load the click may
    come while the page still lays out the expanded group: then it is made again, once."""
    for last in (False, True):
        browser.click(*browser.evaluate(CENTRE % label))
        try:
            return str(browser.wait_for(f"{PANEL}.includes('{shown}') && {PANEL}", timeout=5))
        except AssertionError:
            if last:
                raise
    raise AssertionError("unreachable")


NODES = """Array.from(document.querySelectorAll('#graph .node')).map(
  n => n.dataset.kind + ':' + n.querySelector('title').textContent.replace(/ \\(\\w+\\)$/, ''))"""
CENTRE = """(function () {
  var n = Array.from(document.querySelectorAll('#graph .node')).find(
    n => n.querySelector('title').textContent.replace(/ \\(\\w+\\)$/, '') === '%s');
  var r = n.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"""
BUTTON = """(function () { var r = document.getElementById('%s').getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2]; })()"""
PANEL = "document.getElementById('panel').textContent"
VIEW = "document.getElementById('viewport').getAttribute('transform')"
WHEEL = {"type": "mouseWheel", "x": 300, "y": 300, "deltaX": 0, "deltaY": -200}


def check_screenshot(shot: Path) -> None:
    """A PNG of the page in which the completed steps' green is drawn."""
    image = pytest.importorskip("matplotlib.image").imread(shot)
    assert image.shape[0] >= 700 and image.shape[1] >= 1200
    green = tuple(int(COLOURS["completed"][i : i + 2], 16) / 255 for i in (1, 3, 5))
    close = abs(image[:, :, :3] - green).max(axis=2) < 0.02
    assert close.sum() > 500, "the completed steps are drawn in their colour"
