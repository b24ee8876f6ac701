"""Questions about recorded runs: show, lineage, diff, verify (docs/queries.md).

    from yprov_workflows.query import open_graph, summarize_run, lineage, diff_runs, verify_run

    graph = open_graph(".yprov")                    # the newest run, indexed once
    summary = summarize_run(graph)                  # steps, usage, critical path
    up = lineage(graph, "report.json", "up")        # the steps, inputs and parameters behind it
    changes = diff_runs(graph, open_graph("old.prov.json"))
    checked = verify_run(graph, open_run(".yprov")) # are the recorded files unchanged?

Every function takes a `RunGraph` (the compact index of one run's document, built once by
`RunGraph.from_document` or `open_graph`) and returns plain frozen dataclasses; `text.as_json`
turns any of them into JSON. Documents of either engine, and runs marked incomplete, are read
alike.
"""

from __future__ import annotations

from pathlib import Path

from yprov_workflows.query.diff import Change, RunDiff, StepDiff, UsageDelta, diff_runs
from yprov_workflows.query.graph import RunGraph, Step
from yprov_workflows.query.lineage import Edge, Lineage, Node, find_target, lineage
from yprov_workflows.query.show import CriticalPath, NameRow, RunSummary, StepRow, summarize_run
from yprov_workflows.query.source import RunSource, open_run
from yprov_workflows.query.verify import FileCheck, Verification, verify_run


def open_graph(path: Path | str) -> RunGraph:
    """The index of RUN (a document, a run folder, or an output folder: its newest run)."""
    return RunGraph.from_document(open_run(path).document)


__all__ = [
    "Change",
    "CriticalPath",
    "Edge",
    "FileCheck",
    "Lineage",
    "NameRow",
    "Node",
    "RunDiff",
    "RunGraph",
    "RunSource",
    "RunSummary",
    "Step",
    "StepDiff",
    "StepRow",
    "UsageDelta",
    "Verification",
    "diff_runs",
    "find_target",
    "lineage",
    "open_graph",
    "open_run",
    "summarize_run",
    "verify_run",
]
