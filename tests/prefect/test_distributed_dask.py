"""Prefect on a real distributed Dask cluster: a `dask scheduler` and `dask worker` processes
started separately, each worker in a working directory of its own (not the flow's), found by
`DaskTaskRunner(address=...)`. One more worker runs in a mount namespace where the flow's output
folder is hidden (a tmpfs over it): a host that does not share the run folder."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fanout_tasks import flaky, square, total

from yprov_prefect import prov_flow
from yprov_workflows.testing import Element, RunDocument

pytest.importorskip("prefect_dask")
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
DASK = Path(sys.executable).with_name("dask")


@dataclass
class Cluster:
    address: str
    workers: dict[str, Path]  # address -> the worker's working directory
    far: str | None  # the worker that cannot see `hidden`, if it could be started
    hidden: Path
    far_tmp: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("dask")
    hidden, far_tmp = base / "hidden", base / "far-tmp"
    hidden.mkdir()
    far_tmp.mkdir()
    info = base / "scheduler.json"
    started = [
        _start(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            base,
            {},
        )
    ]
    try:
        _wait_for(info)
        for name in ("near-1", "near-2"):
            started.append(_worker(info, base / name, name))
        far = _far_worker(info, base / "far", hidden, far_tmp)
        if far is not None:
            started.append(far)
        yield _connect(info, base, hidden, far_tmp, 2 + (far is not None))
    finally:
        for process in reversed(started):  # the workers, then the scheduler they talk to
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cwd.mkdir(exist_ok=True)
    log = (cwd / "process.log").open("wb")
    return subprocess.Popen(command, cwd=cwd, env=os.environ | env, stdout=log, stderr=log)


def _worker_command(info: Path, name: str) -> list[str]:
    return [
        str(DASK),
        "worker",
        "--scheduler-file",
        str(info),
        "--nthreads",
        "1",
        "--no-nanny",
        "--no-dashboard",
        "--name",
        name,
        "--host",
        "127.0.0.1",
    ]


def _worker_env(cwd: Path) -> dict[str, str]:
    """The test's task module importable; Prefect's home of its own; nothing of the flow's."""
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "PREFECT_HOME": str(cwd / "prefect-home")}


def _worker(info: Path, cwd: Path, name: str) -> subprocess.Popen[bytes]:
    cwd.mkdir()
    return _start(_worker_command(info, name), cwd, _worker_env(cwd))


def _far_worker(
    info: Path, cwd: Path, hidden: Path, far_tmp: Path
) -> subprocess.Popen[bytes] | None:
    """A worker on "another host": `hidden` is an empty tmpfs in its mount namespace, and it
    serves only tasks that ask for its resource `far`. None where namespaces are not allowed."""
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount -t tmpfs tmpfs {shlex.quote(str(hidden))}"],
        capture_output=True,
    )  # fmt: skip
    if probe.returncode != 0:
        return None
    cwd.mkdir()
    worker = shlex.join([*_worker_command(info, "far"), "--resources", "far=1"])
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f"mount -t tmpfs tmpfs {shlex.quote(str(hidden))} && exec {worker}"]  # fmt: skip
    return _start(command, cwd, _worker_env(cwd) | {"TMPDIR": str(far_tmp)})


def _wait_for(info: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not info.exists() or not info.read_text().strip():
        assert time.monotonic() < deadline, "the dask scheduler did not start"
        time.sleep(0.2)


def _connect(info: Path, base: Path, hidden: Path, far_tmp: Path, count: int) -> Cluster:
    from distributed import Client

    with Client(scheduler_file=str(info), timeout=60) as client:
        client.wait_for_workers(count, timeout=90)
        found = client.scheduler_info()["workers"]
    workers = {address: base / str(w["name"]) for address, w in found.items()}
    far = next((address for address, w in found.items() if w["name"] == "far"), None)
    return Cluster(json.loads(info.read_text())["address"], workers, far, hidden, far_tmp)


# The flow: fan-out, a task that fails once and is retried, fan-in over all of them.


def fan(runner: Any, far: bool = False) -> Any:
    @prov_flow(task_runner=runner)
    def fan_out_in() -> int:
        import dask

        with dask.annotate(resources={"far": 1} if far else {}):
            squares = [square.submit(n) for n in range(4)]
            retried = flaky.submit(squares[1])
            return int(total.submit([*squares, retried]).result())

    return fan_out_in


def _upstream_steps(run: RunDocument, step: Element) -> set[str]:
    """The activities that generated what `step` used as upstream results."""
    used = {
        r["prov:entity"]
        for r in run._relations("used")
        if r["prov:activity"] == step["id"] and r.get("prov:role") == "ywf:upstream"
    }
    return {
        r["prov:activity"] for r in run._relations("wasGeneratedBy") if r["prov:entity"] in used
    }


def test_dask_scheduler_and_workers_in_their_own_folders(workdir: Path, cluster: Cluster) -> None:
    from prefect_dask import DaskTaskRunner

    assert fan(DaskTaskRunner(address=cluster.address))() == 0 + 1 + 4 + 9 + 2
    run = RunDocument.latest(workdir)
    run.assert_valid()
    squares, flakies, (fan_in,) = run.steps("square"), run.steps("flaky"), run.steps("total")
    assert len(squares) == 4
    assert [(s["ywf:attempt"], s["ywf:status"]) for s in flakies] == [
        (1, "failed"),
        (2, "completed"),
    ]
    assert _upstream_steps(run, fan_in) == {s["id"] for s in squares} | {flakies[1]["id"]}
    assert _upstream_steps(run, flakies[0]) <= {s["id"] for s in squares}
    for step in [*squares, *flakies, fan_in]:
        assert step["ywf:pid"] != os.getpid()
        assert step["ywf:task_runner"] == "dask"
        assert step["ywf:worker"] in cluster.workers
        assert step["ywf:host"]
        assert "ywf:cpu_total_s" in step and "ywf:max_rss_bytes" in step
        assert "ywf:record_missing" not in step
    assert all(s["ywf:cpu_total_s"] > 0 for s in squares)
    assert run.run["ywf:recording_errors"] == 0
    for folder in cluster.workers.values():  # nothing written where the workers run
        assert folder.is_dir() and not list(folder.glob("**/.yprov"))


def test_worker_without_the_run_folder_keeps_records_for_merge(
    workdir: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect_dask import DaskTaskRunner

    if cluster.far is None:
        pytest.skip("no mount namespace here (unshare --mount failed): no worker without it")
    monkeypatch.setenv("YPROV_OUT", str(cluster.hidden / "out"))
    assert fan(DaskTaskRunner(address=cluster.address), far=True)() == 16
    run_dir = next(p for p in (cluster.hidden / "out").iterdir() if p.is_dir() and p.name[0] != ".")
    run = RunDocument.latest(workdir, out=str(cluster.hidden / "out"))
    run.assert_valid()
    missing = run.steps()
    assert {s["ywf:step_name"] for s in missing} == {"square", "flaky", "total"}
    assert len(missing) == 6  # the placeholders: one per task run, its last attempt
    for step in missing:
        assert "no record reached the run folder" in step["ywf:record_missing"]
        assert step["ywf:decorated"] is True
    kept = cluster.far_tmp / "yprov-workflows" / run_dir.name / "journals"
    assert len(list(kept.glob("*.jsonl"))) >= 1
    merged = subprocess.run(
        [sys.executable, "-m", "yprov_workflows", "export", str(run_dir), "--merge", str(kept)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 0, merged.stderr
    run = RunDocument.load(Path(merged.stdout.strip()))
    run.assert_valid()
    assert len(run.steps("square")) == 4 and len(run.steps("flaky")) == 2
    for step in run.steps():
        assert "ywf:record_missing" not in step
        assert step["ywf:worker"] == cluster.far
        assert "ywf:cpu_total_s" in step
