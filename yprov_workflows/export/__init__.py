"""Exports of a run's document to other formats, and pictures of its graph (docs/exports.md).

Every function takes the PROV-JSON document as a dict; `load_run` gives it for a run folder, an
output folder (`.yprov`) or a document file, a killed or running run included (assembled from its
journal, marked `incomplete`).

    from yprov_workflows.export import load_run, write_ntriples, write_rocrate
    run = load_run(Path(".yprov"))
    with open("run.nt", "w") as out:
        write_ntriples(run.document, out)
    write_rocrate(run.document, Path("run.crate.zip"), run_id=run.run_id)

- `provn_text`, `jsonld_text`: PROV-N and PROV-JSONLD through the `prov` library;
- `write_ntriples`, `iter_ntriples`: PROV-O N-Triples, streamed (plain and qualified relations);
- `turtle_text`: PROV-O Turtle through rdflib (`pip install 'yprov-workflows[rdf]'`);
- `write_rocrate`: a Workflow Run RO-Crate (Provenance Run Crate 0.5), a zip or a folder;
- `WorkflowGraph.of(document)`, then `dot_text`, `svg_bytes` (Graphviz) and `html_page`.
"""

from yprov_workflows.export.graph import WorkflowGraph, dot_text, svg_bytes
from yprov_workflows.export.html import html_page
from yprov_workflows.export.provo import iter_ntriples, write_ntriples
from yprov_workflows.export.rocrate import write_rocrate
from yprov_workflows.export.source import Loaded, Located, load, load_run, locate
from yprov_workflows.export.turtle import turtle_text
from yprov_workflows.export.viaprov import jsonld_text, provn_text

__all__ = [
    "Loaded",
    "Located",
    "WorkflowGraph",
    "dot_text",
    "html_page",
    "iter_ntriples",
    "jsonld_text",
    "load",
    "load_run",
    "locate",
    "provn_text",
    "svg_bytes",
    "turtle_text",
    "write_ntriples",
    "write_rocrate",
]
