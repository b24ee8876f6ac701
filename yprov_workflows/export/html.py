"""The graph of a run as one self-contained HTML page that works offline.

The page holds the graph as JSON and a small renderer (`assets/graph.js`, `assets/graph.css`,
shipped in the package): no CDN, no web font, nothing fetched, and a Content-Security-Policy that
forbids fetching anything. Groups are collapsed by default; the side panel shows the attributes
of the node clicked.
"""

from __future__ import annotations

import html
import json
from functools import cache
from importlib.resources import files
from typing import Any

from yprov_workflows.export.graph import COLOURS, WorkflowGraph, group_status
from yprov_workflows.export.index import text

EDGE_KINDS = {"used": 0, "generated": 1, "informed": 2}
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="yprov-workflows">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header>
<h1 id="title"></h1><span class="run" id="summary"></span>
<button id="fit" type="button">Fit</button>
<button id="zoom-in" type="button" title="Zoom in">+</button>
<button id="zoom-out" type="button" title="Zoom out">&minus;</button>
<button id="expand-all" type="button">Expand all</button>
<button id="collapse-all" type="button">Collapse all</button>
<span class="legend" id="legend"></span>
</header>
<main>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="workflow graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"
markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a8a8a"/>
</marker></defs>
<g id="viewport"></g>
</svg>
<aside id="panel"></aside>
</main>
<script type="application/json" id="yprov-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""


def html_page(graph: WorkflowGraph, title: str) -> str:
    """The page: the graph's data, the renderer and its style in one HTML document."""
    data = json.dumps(page_data(graph, title), ensure_ascii=False, separators=(",", ":"))
    return TEMPLATE.format(
        csp=CSP,
        title=html.escape(title),
        css=_asset("graph.css"),
        data=data.replace("<", "\\u003c"),  # no `</script>` can end the data early
        js=_asset("graph.js"),
    )


def page_data(graph: WorkflowGraph, title: str) -> dict[str, Any]:
    """What the renderer reads: nodes, groups (member indices) and edges (index pairs)."""
    position = {ident: i for i, ident in enumerate(graph.nodes)}
    group_index = {ident: i for i, ident in enumerate(graph.groups)}
    return {
        "title": title,
        "summary": _summary(graph),
        "run": graph.run,
        "colours": COLOURS,
        "nodes": [
            {"k": n.kind, "l": n.label, "g": group_index[n.group], "s": n.status, "a": n.attrs}
            for n in graph.nodes.values()
        ],
        "groups": [
            {
                "k": g.kind,
                "l": g.label,
                "s": group_status(graph, g),
                "members": [position[m] for m in g.members],
            }
            for g in graph.groups.values()
        ],
        "edges": [
            [position[e.source], position[e.target], EDGE_KINDS[e.kind]] for e in graph.edges
        ],
    }


def _summary(graph: WorkflowGraph) -> str:
    steps = sum(1 for n in graph.nodes.values() if n.kind == "step")
    status = text(graph.run.get("ywf:status")) or "status unknown"
    start, end = text(graph.run.get("prov:startTime")), text(graph.run.get("prov:endTime"))
    when = f", {start} to {end}" if start and end else ""
    return f"{status}, {steps} steps{when}"


@cache
def _asset(name: str) -> str:
    return (files("yprov_workflows.export") / "assets" / name).read_text(encoding="utf-8")
