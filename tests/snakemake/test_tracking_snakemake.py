"""In-step tracking through the executor: what a job's code logs lands on that job's step.

One workflow checks most of it in one run (`-j4`): four jobs logging at once from a script each
(and a grandchild process of it), a `run:` job logging in its own (spawned) Snakemake process and
from a `shell()` it calls, a yProv4ML 3.x script with only its import changed, and a job killed
with SIGKILL mid-training. A second, small run puts the `run:` job in a Snakemake thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from smk_helpers import latest, ok, snakemake, write_workflow

from yprov_workflows.testing import Element, RunDocument
from yprov_workflows.tracking.read import find_series, open_source, params_by_activity, read_series

POINTS = 200
SECRET = "s3cr3t-pin-value"

SNAKEFILE = """
import os, sys

PY = sys.executable

rule all:
    input: expand("models/{i}.json", i=range(4)), "facade.txt", "inproc.txt", "killed.txt"

rule train:
    output: "models/{i}.json"
    params: python=PY
    shell: "{params.python:q} train.py {wildcards.i} {output:q}"

rule facade:
    output: "facade.txt"
    params: python=PY
    shell: "{params.python:q} yprov4ml_train.py && echo done > {output:q}"

rule inproc:
    output: "inproc.txt"
    params: python=PY
    run:
        import yprov_workflows as yp
        yp.log_param("where", "run")
        for epoch in range(50):
            yp.log_metric("loss", 0.5 ** epoch, step=epoch)
        code = "import yprov_workflows as yp; yp.log_metric('from_shell', 1.0)"
        shell("{params.python:q} -c {code:q}")
        with open(output[0], "w") as handle:
            handle.write(str(os.getpid()))

rule killed:
    output: "killed.txt"
    params: python=PY
    shell: "{params.python:q} killed.py progress.txt && touch {output:q}"
"""

TRAIN = f"""
import subprocess, sys, time
from pathlib import Path
import yprov_workflows as yp

number, output = int(sys.argv[1]), Path(sys.argv[2])
Path("started").mkdir(exist_ok=True)
Path("started", str(number)).touch()
deadline = time.monotonic() + 120
while len(list(Path("started").iterdir())) < 4:  # the four jobs log at the same time
    assert time.monotonic() < deadline, "the four train jobs did not run at once"
    time.sleep(0.01)
yp.log_params({{"number": number, "lr": 0.1 * (number + 1), "pin": "{SECRET}"}})
for epoch in range({POINTS}):
    yp.log_metric("loss", number * 1000 + epoch, step=epoch, context="training")
    yp.log_metrics({{"acc": number}}, step=epoch, context="validation")
    if epoch % 50 == 0:
        yp.log_system_metrics(step=epoch // 50)
        time.sleep(0.01)  # let the others interleave
child = f"import yprov_workflows as yp; yp.log_metric('child', {{number}})"
subprocess.run([sys.executable, "-c", child], check=True)  # a grandchild of the job's shell
output.parent.mkdir(exist_ok=True)
output.write_text(str(number))
yp.log_artifact(output, is_model=True)
"""

YPROV4ML = """
import yprov_workflows.compat.yprov4ml as yprov4ml  # was: import yprov4ml

yprov4ml.start_run(
    prov_user_namespace="www.example.org",
    experiment_name="mnist",
    provenance_save_dir="prov",
    save_after_n_logs=100,
)
yprov4ml.log_param("optimizer", "Adam")
for epoch in range(3):
    yprov4ml.log_metric("MSE", 1.0 / (epoch + 1), context=yprov4ml.Context.TRAINING, step=epoch)
    yprov4ml.log_system_metrics(yprov4ml.Context.TRAINING, step=epoch)
with open("model.pt", "wb") as handle:
    handle.write(b"state dict")
yprov4ml.log_artifact("mnist_model", "model.pt", context="training", is_model=True)
yprov4ml.end_run(create_graph=True, create_svg=True)
"""

KILLED = """
import os, signal, sys, time
import yprov_workflows as yp

progress = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
yp.log_params({"lr": 0.1})
started, step = time.monotonic(), 0
while time.monotonic() - started < 2.5:
    yp.log_metric("loss", 1.0 / (step + 1), step=step, context="training")
    os.write(progress, f"{step} {time.time()}\\n".encode())  # what was logged, and when
    step += 1
    time.sleep(0.002)
os.write(progress, f"kill {time.time()}\\n".encode())
os.kill(os.getpid(), signal.SIGKILL)
"""

FILES = {"train.py": TRAIN, "yprov4ml_train.py": YPROV4ML, "killed.py": KILLED}


def logged(run: RunDocument, run_dir: Path, step: Element) -> dict[Any, list[tuple[int, float]]]:
    """(name, context) -> the points of each series the step logged."""
    found = {}
    for ref in find_series(run.doc):
        if ref.activity == step["id"]:
            points = read_series(run_dir, ref) or []
            found[(ref.name, ref.context)] = [(int(s), float(v)) for s, v, _ in points]
    return found


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    workdir = tmp_path_factory.mktemp("tracking")
    write_workflow(workdir, SNAKEFILE, FILES)
    extra = ("--cores", "4", "--keep-going", "--yprov-secret-names", "^pin$")
    result = snakemake(workdir, *extra)
    assert result.returncode != 0, "the killed job must fail the run"
    return workdir, result


def _document(workdir: Path) -> tuple[RunDocument, Path]:
    run = latest(workdir)
    _, run_dir = open_source(workdir / ".yprov")
    return run, run_dir


def test_four_jobs_logging_at_once_keep_their_own_values(tracked_run: tuple[Path, Any]) -> None:
    workdir, _ = tracked_run
    run, run_dir = _document(workdir)
    hyper = params_by_activity(run.doc)
    trains = run.steps("train")
    assert len(trains) == 4
    for step in trains:
        number = hyper[step["id"]]["number"]
        series = logged(run, run_dir, step)
        loss = series[("loss", "training")]
        assert loss == [(e, number * 1000 + e) for e in range(POINTS)]
        assert series[("acc", "validation")] == [(e, number) for e in range(POINTS)]
        assert series[("child", None)] == [(0, number)]  # the grandchild's point
        assert len(series[("cpu_s", "system")]) == 4
        assert hyper[step["id"]]["lr"] == pytest.approx(0.1 * (number + 1))
        assert hyper[step["id"]]["pin"] == "[redacted]"
        assert run.outputs_of(step) == {f"models/{number}.json"}  # the logged model: one entity
    assert {hyper[s["id"]]["number"] for s in trains} == {0, 1, 2, 3}


def test_no_secret_reaches_the_disk(tracked_run: tuple[Path, Any]) -> None:
    """The job's processes got the run's secret names, so they hid the value themselves."""
    workdir, _ = tracked_run
    for path in (workdir / ".yprov").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_spawned_run_job_logs_in_its_own_process_and_its_shell(
    tracked_run: tuple[Path, Any],
) -> None:
    workdir, _ = tracked_run
    run, run_dir = _document(workdir)
    (step,) = run.steps("inproc")
    assert "own Snakemake process" in step["ywf:usage_note"]
    series = logged(run, run_dir, step)
    assert series[("loss", None)] == [(e, 0.5**e) for e in range(50)]
    assert series[("from_shell", None)] == [(0, 1.0)]
    assert params_by_activity(run.doc)[step["id"]] == {"where": "run"}


def test_a_yprov4ml_script_lands_on_its_job(tracked_run: tuple[Path, Any]) -> None:
    workdir, _ = tracked_run
    run, run_dir = _document(workdir)
    (step,) = run.steps("facade")
    assert step["ywf:experiment_name"] == "mnist"
    assert not (workdir / "prov").exists()  # joined the job: no second run
    series = logged(run, run_dir, step)
    assert series[("MSE", "training")] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert len(series[("time_s", "training")]) == 3
    assert params_by_activity(run.doc)[step["id"]] == {"optimizer": "Adam"}
    assert run.outputs_of(step, "ywf:model") == {"model.pt"}


def test_a_job_killed_mid_training_keeps_its_older_points(tracked_run: tuple[Path, Any]) -> None:
    workdir, _ = tracked_run
    run, run_dir = _document(workdir)
    (step,) = run.steps("killed")
    assert step["ywf:status"] == "failed"
    lines = (workdir / "progress.txt").read_text().splitlines()
    killed_at = float(next(line.split()[1] for line in lines if line.startswith("kill ")))
    logged_at = [line.split() for line in lines if not line.startswith("kill ")]
    old = {int(number) for number, at in logged_at if float(at) < killed_at - 1.0}
    kept = {s for s, _ in logged(run, run_dir, step)[("loss", "training")]}
    assert old and old <= kept, f"lost {len(old - kept)} points older than a second"
    assert params_by_activity(run.doc)[step["id"]] == {"lr": 0.1}


def test_a_rule_with_no_action_makes_no_tracking_folder(tracked_run: tuple[Path, Any]) -> None:
    workdir, _ = tracked_run
    _, run_dir = _document(workdir)
    folders = sorted(p.name.rsplit("-", 1)[0] for p in (run_dir / "tracking").iterdir())
    assert folders == ["facade", "inproc", "killed", *(f"train-i-{i}" for i in range(4))]


def test_a_run_job_in_a_snakemake_thread_logs_in_its_context(tmp_path: Path) -> None:
    workdir = tmp_path / "threads"
    write_workflow(workdir, SNAKEFILE, FILES)
    ok(snakemake(workdir, "--force-use-threads", "inproc.txt"))
    run, run_dir = _document(workdir)
    (step,) = run.steps("inproc")
    assert "Snakemake thread" in step["ywf:usage_note"]
    assert (workdir / "inproc.txt").read_text() != str(os.getpid())
    series = logged(run, run_dir, step)
    assert series[("loss", None)] == [(e, 0.5**e) for e in range(50)]
    assert series[("from_shell", None)] == [(0, 1.0)]  # shell() inside run: gets the step too
