"""Helpers for tests, ours and our users': load a run's document, check it, ask about its records.

run = RunDocument.load(workdir / ".yprov" / "latest.prov.json")
run.assert_valid()
train = run.steps("train")
assert run.inputs_of(train[0]) == {"data/train.csv"}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yprov_workflows.pending import settle
from yprov_workflows.validation import validate

Element = dict[str, Any]


@dataclass(frozen=True)
class RunDocument:
    """A parsed workflow-level PROV-JSON document."""

    doc: dict[str, Any]
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> RunDocument:
        settle()  # documents this process still completes (a Prefect flow's end)
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), Path(path))

    @classmethod
    def latest(cls, workdir: Path, out: str = ".yprov") -> RunDocument:
        return cls.load(Path(workdir) / out / "latest.prov.json")

    def assert_valid(self) -> None:
        report = validate(self.doc)
        assert report.ok, f"{self.path}: invalid document:\n" + "\n".join(report.problems)

    @property
    def run(self) -> Element:
        runs = [
            a
            for a in self._bucket("activity").values()
            if a.get("prov:type") == "wfprov:WorkflowRun"
        ]
        assert len(runs) == 1, f"expected one run activity, found {len(runs)}"
        run: Element = runs[0]
        return run

    def steps(self, name: str | None = None) -> list[Element]:
        """Step activities, optionally only those of one rule or task, oldest first."""
        found = [
            dict(a, id=k)
            for k, a in self._bucket("activity").items()
            if a.get("prov:type") == "wfprov:ProcessRun"
            and (name is None or a.get("ywf:step_name") == name)
        ]
        return sorted(found, key=lambda a: (a["prov:startTime"], a["id"]))

    def entity(self, ident: str) -> Element:
        found: Element = self._bucket("entity")[ident]
        return found

    def inputs_of(self, step: Element, role: str = "ywf:input") -> set[str]:
        """Paths (for files) or labels of what the step used in the given role."""
        return {
            self._label(r["prov:entity"])
            for r in self._relations("used")
            if r["prov:activity"] == step["id"] and r.get("prov:role") == role
        }

    def params_of(self, step: Element) -> dict[str, Any]:
        return {
            self.entity(r["prov:entity"])["prov:label"]: self.entity(r["prov:entity"])["prov:value"]
            for r in self._relations("used")
            if r["prov:activity"] == step["id"] and r.get("prov:role") == "ywf:parameter"
        }

    def outputs_of(self, step: Element, role: str = "ywf:output") -> set[str]:
        return {
            self._label(r["prov:entity"])
            for r in self._relations("wasGeneratedBy")
            if r["prov:activity"] == step["id"] and r.get("prov:role") == role
        }

    def generator_of(self, path: str) -> Element | None:
        """The step that generated (the latest version of) the file at `path`."""
        steps = {s["id"]: s for s in self.steps()}
        found = [
            steps[r["prov:activity"]]
            for r in self._relations("wasGeneratedBy")
            if self._label(r["prov:entity"]) == path and r["prov:activity"] in steps
        ]
        return max(found, key=lambda s: s["prov:endTime"]) if found else None

    def _label(self, ident: str) -> str:
        return str(self.entity(ident).get("prov:label", ident))

    def _bucket(self, kind: str) -> dict[str, Any]:
        bucket: dict[str, Any] = self.doc.get(kind, {})
        return bucket

    def _relations(self, kind: str) -> Iterator[Element]:
        for value in self._bucket(kind).values():
            yield from value if isinstance(value, list) else [value]
