"""The sampler: summaries, GPU energy and attribution, RAPL across wrap-arounds, time series; the
real sampler process keeps its rate next to a CPU-bound step and never breaks the recording."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_nvml import FakeDevice, FakeNvml, FakeProcess

from yprov_workflows.usage.monitor import Monitor
from yprov_workflows.usage.nvml import Gpus
from yprov_workflows.usage.rapl import Rapl
from yprov_workflows.usage.sampler import Sampler, serve

UUID = "GPU-11111111-2222-3333-4444-555555555555"
RANGE_UJ = 10_000_000  # a small RAPL counter range (10 J), so that it wraps within the test


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def powercap(root: Path, energy_uj: int) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text(f"{RANGE_UJ}\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    return root


def gpu_step(tmp_path: Path, pid: int, *others: int) -> tuple[Sampler, FakeDevice, Clock, Path]:
    processes = [FakeProcess(pid, 2 * 2**30), *(FakeProcess(o, 2**20) for o in others)]
    device = FakeDevice(uuid=UUID, power_mw=200_000, energy_mj=5_000_000, utilization=90)
    device.compute = processes
    clock, root = Clock(), powercap(tmp_path / "powercap", 9_000_000)
    sampler = Sampler(1.0, Gpus.open(module=FakeNvml([device])), Rapl.open(root), clock)
    return sampler, device, clock, root


def run_for(sampler: Sampler, device: FakeDevice, clock: Clock, root: Path, seconds: int) -> None:
    """`seconds` samples one second apart at 200 W; the RAPL counter wraps on every other one."""
    step = next(iter(sampler.steps.values()))
    for i in range(seconds):
        clock.now += 1.0
        device.energy_mj += 200_000
        energy = 4_000_000 if i % 2 == 0 else 9_000_000
        (root / "intel-rapl:0" / "energy_uj").write_text(f"{energy}\n")
        sampler.sample([step], clock.now)


def test_a_gpu_step_gets_device_figures_counter_energy_and_its_own_memory(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    sampler, device, clock, root = gpu_step(tmp_path, child.pid)
    sampler.watch("s", [child.pid], str(tmp_path / "series" / "s.csv"), 2.0)
    run_for(sampler, device, clock, root, 5)
    summary = sampler.stop("s")
    figures = summary["figures"]
    assert figures["gpu0_uuid"] == UUID and figures["gpu0_name"] == "NVIDIA H200"
    assert figures["gpu0_energy_j"] == pytest.approx(1000.0)  # 5 x 200 J from the counter
    assert summary["sources"]["gpu0_energy"] == "nvml_energy_counter"
    assert figures["gpu0_power_w_mean"] == pytest.approx(200.0)
    assert figures["gpu0_util_pct_max"] == 90
    assert figures["gpu0_proc_mem_bytes_max"] == 2 * 2**30
    assert figures["gpu0_attribution"].startswith("exclusive")
    assert figures["gpu_energy_j"] == pytest.approx(1000.0)
    # 9 -> 4 (wrap) -> 9 -> 4 (wrap) -> 9 -> 4 (wrap) MJ-units: 3 x 5.000001 + 2 x 5 J
    assert figures["cpu_package_energy_j"] == pytest.approx(25.0, abs=1e-3)
    assert summary["sources"]["cpu_energy"].startswith("rapl")
    assert figures["sampled_rss_bytes_max"] > 5 * 2**20
    assert figures["sampled_processes_last"] == 1


def test_a_query_the_gpu_does_not_support_is_named(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    sampler, device, clock, root = gpu_step(tmp_path, child.pid)
    nvml = sampler.hw.gpus._module  # the fake behind the backend
    nvml.fail("nvmlDeviceGetUtilizationRates", nvml.NVMLError_NotSupported())  # as on MIG
    sampler.watch("s", [child.pid], None, 0.0)
    run_for(sampler, device, clock, root, 2)
    summary = sampler.stop("s")
    assert "gpu0_util_pct_mean" not in summary["figures"]
    assert summary["missing"]["gpu0_queries"] == (
        "not supported by this GPU or driver (NVML): nvmlDeviceGetUtilizationRates"
    )
    assert summary["figures"]["gpu0_power_w_mean"] == pytest.approx(200.0)


def test_a_short_step_gets_power_times_time_and_a_shared_gpu_says_so(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    sampler, _, clock, _ = gpu_step(tmp_path, child.pid, 999_999)
    sampler.watch("s", [child.pid], None, 0.0, t0=clock.now - 0.05)  # sent 0.05 s after start
    clock.now += 0.25
    sampler.sample([sampler.steps["s"]], clock.now)
    clock.now += 0.25
    summary = sampler.stop("s")
    figures = summary["figures"]
    assert summary["sources"]["gpu0_energy"].startswith("power_x_time")
    assert figures["gpu0_energy_j"] == pytest.approx(110.0)  # 200 W x (0.05 + 0.5) s
    assert figures["gpu0_attribution"].startswith("shared: other processes")


def test_concurrent_steps_share_one_sampler_and_are_marked_shared(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    sampler, _, clock, _ = gpu_step(tmp_path, child.pid)
    sampler.watch("a", [child.pid], None, 0.0)
    sampler.watch("b", [child.pid], None, 0.0)
    clock.now += 2.0
    sampler.sample(sampler.due(clock.now), clock.now)
    a, b = sampler.stop("a")["figures"], sampler.stop("b")["figures"]
    for figures in (a, b):
        assert figures["gpu0_attribution"] == (
            "shared: 2 steps were watched at once (device-wide figures)"
        )


def test_the_time_series_is_kept_for_long_steps_only(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    sampler, device, clock, root = gpu_step(tmp_path, child.pid)
    sampler.watch("long", [child.pid], str(tmp_path / "long.csv"), 3.0)
    run_for(sampler, device, clock, root, 4)
    path = Path(sampler.stop("long")["series"])
    assert path == tmp_path / "long.csv.gz" and not (tmp_path / "long.csv").exists()
    with gzip.open(path, "rt") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6  # at the start, 4 ticks, at the stop
    assert [float(r["t_s"]) for r in rows[1:5]] == [1.0, 2.0, 3.0, 4.0]
    assert {r["gpu0_power_w"] for r in rows} == {"200.0"}
    assert int(rows[-1]["rss_bytes"]) > 0
    sampler.watch("short", [child.pid], str(tmp_path / "short.csv"), 3.0)
    run_for(sampler, device, clock, root, 1)
    assert sampler.stop("short")["series"] is None
    assert not list(tmp_path.glob("short.csv*"))


def test_without_gpu_or_rapl_every_group_says_why(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    clock = Clock()
    gpus = Gpus.open(module=FakeNvml([]))
    sampler = Sampler(1.0, gpus, Rapl.open(tmp_path / "no-powercap"), clock)
    sampler.watch("s", [child.pid], None, 0.0)
    child.kill()  # a process that exits between two samples
    child.wait()
    clock.now += 1.0
    summary = sampler.stop("s")
    assert summary["missing"]["gpu"] == "no NVIDIA GPU found"
    assert summary["missing"]["cpu_energy"].startswith("no RAPL")
    assert sampler.stop("never-watched")["missing"]["gauges"].startswith("the sampler never saw")


def test_the_sampler_process_keeps_its_rate_next_to_a_cpu_bound_python_step() -> None:
    """The worst case: the step is pure Python in the recording process itself."""
    monitor = Monitor(1.0)
    try:
        monitor.watch("busy", [os.getpid()])
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:  # holds the GIL all the time
            pass
        sampled = monitor.stop("busy", time.monotonic() - t0)
    finally:
        monitor.close()
    # 0.1 s ticks for 2 s, then 0.25 s: about 22 samples; a thread in this process would starve
    assert sampled.figures["samples"] >= 18, sampled
    assert sampled.figures["sampled_cpu_pct_mean"] > 50


def test_a_short_step_costs_no_message_and_starts_no_sampler() -> None:
    monitor = Monitor(1.0)
    monitor.watch("trivial", [os.getpid()])
    sampled = monitor.stop("trivial", 0.001)
    assert sampled.missing["gauges"] == "the step lasted less than 0.05 s"
    assert monitor._process is None
    monitor.close()


SLOW_SAMPLER = """
import json, sys, time
for line in sys.stdin:
    message = json.loads(line)
    if message["op"] == "stop":
        time.sleep(3)
        print(json.dumps({"id": message["id"], "summary": {}}), flush=True)
"""


class _SlowSampler(Monitor):
    """A sampler that takes 3 s to answer each stop."""

    def _start(self) -> None:
        pipe = subprocess.PIPE
        self._process = subprocess.Popen(
            [sys.executable, "-c", SLOW_SAMPLER], stdin=pipe, stdout=pipe
        )


def test_a_step_waiting_for_its_answer_holds_up_no_other_step() -> None:
    monitor = _SlowSampler(1.0)
    monitor.watch("long", [os.getpid()])
    time.sleep(0.3)  # the watch goes out and starts the sampler
    waiting = threading.Thread(target=monitor.stop, args=("long", 1.0))
    waiting.start()
    time.sleep(0.3)  # `long` now waits for its answer
    began = time.monotonic()
    for i in range(50):  # what every task does, in the flow's other threads
        monitor.watch(f"short-{i}", [os.getpid()])
        assert "less than" in monitor.stop(f"short-{i}", 0.001).missing["gauges"]
    assert time.monotonic() - began < 1.5, "short steps did not wait for the answer"
    assert waiting.is_alive()
    waiting.join(10)
    monitor.close()


def test_short_steps_never_wait_for_the_sender_and_an_idle_sender_wakes_for_a_watch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yprov_workflows.usage.monitor as monitor_module

    monkeypatch.setattr(monitor_module, "LINGER_S", 0.2)
    monitor = Monitor(1.0)
    monitor.watch("first", [os.getpid()])
    assert "less than" in monitor.stop("first", 0.001).missing["gauges"]
    deadline = time.monotonic() + 10  # nothing pending for longer than LINGER_S: the sender
    while not monitor._idle and time.monotonic() < deadline:  # sleeps until a watch wakes it
        time.sleep(0.05)
    assert monitor._idle and monitor._process is None
    with monitor._pipe:  # the sender writing a watch, or starting the sampler, takes this
        began = time.monotonic()
        for i in range(50):  # what every task does, in the flow's other threads
            monitor.watch(f"short-{i}", [os.getpid()])
            assert "less than" in monitor.stop(f"short-{i}", 0.001).missing["gauges"]
        assert time.monotonic() - began < 1.0, "short steps waited for the sender"
    monitor.watch("long", [os.getpid()])  # wakes the idle sender, which sends it when due
    deadline = time.monotonic() + 10
    while monitor._process is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert monitor._process is not None, "the idle sender did not wake for a new watch"
    assert "sampled_rss_bytes_max" in monitor.stop("long", 1.0).figures
    monitor.close()


def test_a_step_ends_without_waiting_and_each_summary_finds_its_step() -> None:
    slow = _SlowSampler(1.0)
    slow.watch("late", [os.getpid()])
    time.sleep(0.3)
    began = time.monotonic()
    summary = slow.stop_later("late", 1.0)  # the task's thread: no wait for the answer
    assert time.monotonic() - began < 1.0
    assert summary().missing == {} and time.monotonic() - began >= 2.5  # the writer waits
    slow.close()
    monitor = Monitor(1.0)
    for step in ("a", "b"):
        monitor.watch(step, [os.getpid()])
    time.sleep(0.3)
    first, second = monitor.stop_later("a", 1.0), monitor.stop_later("b", 1.0)
    for summary in (second, first):  # collected in the other order: a's answer is kept
        assert "sampled_rss_bytes_max" in summary().figures
    monitor.close()


def test_a_dead_sampler_becomes_a_reason_never_an_error() -> None:
    monitor = Monitor(1.0)
    monitor.watch("a", [os.getpid()])
    time.sleep(0.3)  # the watch goes out after 0.05 s and starts the sampler
    process = monitor._process
    assert process is not None
    process.kill()
    process.wait()
    sampled = monitor.stop("a", 1.0)
    assert sampled.missing["gauges"].startswith("the sampler")
    monitor.watch("b", [os.getpid()])  # later steps: no error either, the same reason
    time.sleep(0.1)
    assert monitor.stop("b", 1.0).missing == sampled.missing
    monitor.close()
    off = Monitor(0)
    off.watch("c", [os.getpid()])
    assert off.stop("c", 1.0).missing["gauges"].startswith("sampling is off")


def test_a_bad_command_does_not_stop_the_sampling_of_others(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    sampler = Sampler(1.0, Gpus.open(module=FakeNvml([])), Rapl.open(tmp_path / "none"))
    commands, to_sampler = os.pipe()
    from_sampler, answers = os.pipe()
    thread = threading.Thread(target=serve, args=(sampler, commands, answers), daemon=True)
    thread.start()
    os.write(to_sampler, b"not json\n" + b'{"op": "stop"}\n')
    os.write(to_sampler, b'{"op": "watch", "id": "s", "roots": [%d]}\n' % child.pid)
    os.write(to_sampler, b'{"op": "stop", "id": "s"}\n')
    with os.fdopen(from_sampler) as replies:
        failed, answer = replies.readline(), replies.readline()
        os.close(to_sampler)
        thread.join(5)
    assert "the sampler failed: KeyError" in failed  # a stop is always answered
    assert '"id": "s"' in answer and "sampled_rss_bytes_max" in answer
    assert not thread.is_alive()  # the end of its input ends the loop


class _Unnamable:
    """A series path that fails when asked for its name."""

    def __fspath__(self) -> str:
        raise ValueError("no name")


def test_a_series_path_is_named_when_sent_and_a_bad_one_drops_only_the_series(
    tmp_path: Path,
) -> None:
    """Watches carry their series path as given (a path-like object named only when the sender
    thread tells the sampler); one that cannot be named loses its series, not its samples."""
    monitor = Monitor(0.1)
    try:
        monitor.watch("named", [os.getpid()], tmp_path / "series" / "named.csv", 0.2)
        monitor.watch("unnamable", [os.getpid()], _Unnamable(), 0.2)
        time.sleep(0.6)
        named = monitor.stop("named", 0.6)
        unnamable = monitor.stop("unnamable", 0.6)
    finally:
        monitor.close()
    assert named.series is not None and named.series.parent == tmp_path / "series"
    assert unnamable.series is None
    assert unnamable.figures["samples"] >= 2, unnamable
