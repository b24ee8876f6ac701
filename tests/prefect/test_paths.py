"""Files in containers, rewritten outputs and path results."""

from __future__ import annotations

from pathlib import Path

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.testing import RunDocument


@prov_task
def split(n: int) -> tuple[Path, Path]:
    Path("a.txt").write_text("a" * n)
    Path("b.txt").write_text("b" * n)
    return Path("a.txt"), Path("b.txt")


@prov_task
def join(parts: list[Path], out: Path) -> Path:
    out.write_text("".join(p.read_text() for p in parts))
    return out


@prov_flow
def files_flow(n: int) -> Path:
    a, b = split(n)
    return join([a, b], Path("joined.txt"))


def test_paths_inside_containers_and_rewritten_outputs(workdir: Path) -> None:
    files_flow(3)
    files_flow(4)  # joined.txt exists now: its old version is not an input of the rewrite
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (split_step,) = run.steps("split")
    assert run.outputs_of(split_step) == {"a.txt", "b.txt"}
    (join_step,) = run.steps("join")
    assert run.inputs_of(join_step) == {"a.txt", "b.txt"}
    assert run.outputs_of(join_step) == {"joined.txt"}
    assert run.generator_of("a.txt")["id"] == split_step["id"]
    result = next(e for e in run.doc["entity"].values() if e.get("prov:label") == "result of join")
    assert result["prov:value"] == "joined.txt"
