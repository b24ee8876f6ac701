"""A dead API server costs nothing extra (issue 13, item 3): a flow whose `prefect server` is
killed mid-flow fails as soon with provenance as without (at most 10 s later, counted from the
end of its last task), and still leaves its document, with every finished task and the engine's
final state said to be unknown.

Both variants, plain `@task/@flow` and ours, run at the same time against one real server that
the test starts and then kills (SIGKILL). Prefect's client retries are lowered to 2 for both (a
fair comparison that keeps the test short: with the default 5, each retried call takes about a
minute); with 2, each of our three calls at the flow's end used to add about 6 s. Task runs
report their states through events, so the tasks go on after the kill; the flow fails when the
engine proposes its final state. The flow processes then leave at once (`os._exit`): Prefect's
exit-time drain of the queued events (7 s per event with the server gone) is the same for both
and not what is measured.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from yprov_workflows.testing import RunDocument

pytestmark = pytest.mark.slow

FLOW = """
import json
import os
import sys
import time
from pathlib import Path

from prefect import flow, task

from yprov_prefect import prov_flow, prov_task

as_task, as_flow = (prov_task, prov_flow) if sys.argv[1] == "ours" else (task, flow)


@as_task
def step(i: int) -> int:
    time.sleep(1.0)
    Path(f"done-{i}").touch()
    return i


@as_flow
def eight_steps() -> list[int]:
    return [step(i) for i in range(8)]


try:
    eight_steps()
    outcome = "returned"
except Exception as error:
    outcome = type(error).__name__
Path("ended.json").write_text(json.dumps({"at": time.time(), "outcome": outcome}))
sys.stderr.flush()
os._exit(0)
"""
MAX_EXTRA_S = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "YPROV_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        **more,
    )
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real `prefect server start` on a free port, in its own process group."""
    port = _free_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--no-services"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=_env(tmp_path / "prefect-home"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_for(lambda: _healthy(url), 90, "the Prefect server to start")
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_killed_server_fails_the_flow_as_soon_as_without_provenance(
    tmp_path: Path, server: tuple[subprocess.Popen[bytes], str]
) -> None:
    process, url = server
    script = tmp_path / "flow.py"
    script.write_text(FLOW)
    env = _env(tmp_path / "client-home", PREFECT_API_URL=url, PREFECT_CLIENT_MAX_RETRIES="2")
    flows = {}
    for variant in ("plain", "ours"):
        (tmp_path / variant).mkdir()
        flows[variant] = subprocess.Popen(
            [sys.executable, str(script), variant],
            cwd=tmp_path / variant,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / variant / "stderr.txt").open("wb"),
        )
    done = lambda variant: len(list((tmp_path / variant).glob("done-*")))  # noqa: E731
    _wait_for(lambda: min(done("plain"), done("ours")) >= 2, 90, "two tasks of each flow")
    os.killpg(process.pid, signal.SIGKILL)
    assert max(done("plain"), done("ours")) < 8, "a flow ended before the server was killed"
    _exit_all(flows, timeout=120)
    after = {variant: _seconds_after_last_task(tmp_path / variant) for variant in flows}
    print(f"seconds from the end of the last task to the flow's failure: {after}")
    assert after["ours"] - after["plain"] <= MAX_EXTRA_S, tmp_path / "ours" / "stderr.txt"
    run = RunDocument.latest(tmp_path / "ours")
    run.assert_valid()
    assert [s["ywf:status"] for s in run.steps("step")] == ["completed"] * 8
    assert str(run.run["ywf:engine_state"]).startswith("unknown: the Prefect API could not be")


def _seconds_after_last_task(folder: Path) -> float:
    ended = json.loads((folder / "ended.json").read_text())
    assert ended["outcome"] == "ConnectError", (folder / "stderr.txt").read_text()[-3000:]
    return round(float(ended["at"]) - (folder / "done-7").stat().st_mtime, 1)


def _exit_all(processes: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        for process in processes.values():
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
