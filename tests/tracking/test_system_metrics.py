"""`log_system_metrics`: time, CPU, memory, GPU energy (NVML fake) and CPU energy (a fake RAPL
tree) per epoch, each with its source; missing figures with their reason."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from core.fake_nvml import FakeDevice, FakeNvml, FakeProcess  # tests/ is on sys.path
from engine import MiniEngine

import yprov_workflows as yp
from yprov_workflows.records import MetricSeries
from yprov_workflows.tracking import system
from yprov_workflows.tracking.process import PROCESS
from yprov_workflows.tracking.read import find_series, read_series
from yprov_workflows.usage.nvml import Gpus
from yprov_workflows.usage.rapl import Rapl

MAX = 262143328850


def powercap(root: Path, energy_uj: int) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text(f"{MAX}\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    return root


@pytest.fixture
def hardware(tmp_path: Path, monkeypatch: Any) -> tuple[FakeDevice, Path]:
    """One GPU on which this process holds memory, and one readable RAPL package."""
    device = FakeDevice(
        uuid="GPU-1",
        energy_mj=50_000,
        power_mw=200_000,
        utilization=80,
        compute=[FakeProcess(os.getpid(), 1 << 30)],
    )
    root = powercap(tmp_path / "powercap", 1_000_000)
    monkeypatch.setattr(PROCESS, "gpus", Gpus.open(module=FakeNvml([device])))
    monkeypatch.setattr(PROCESS, "rapl", Rapl.open(root))
    monkeypatch.setattr(system, "ENERGY_COUNTER_MIN_S", 0.0)  # epochs of milliseconds here
    busy = iter(range(1000, 2000, 10))  # the host's busy CPU seconds: /proc/stat moves in ticks
    monkeypatch.setattr(system, "host_busy_cpu_s", lambda: float(next(busy)))
    return device, root


def by_name(metrics: tuple[MetricSeries, ...]) -> dict[str, MetricSeries]:
    return {series.name: series for series in metrics}


def test_energy_per_epoch_next_to_the_loss(tmp_path: Path, hardware: Any) -> None:
    device, root = hardware
    engine = MiniEngine(tmp_path / "out")
    step = engine.open("train")
    with step.channel.active():
        for epoch in range(3):
            device.energy_mj += 1000 * (epoch + 1)  # 1, 2 and 3 J in epochs 0, 1, 2
            uj = 1_000_000 + 5_000_000 * (epoch + 1)
            (root / "intel-rapl:0" / "energy_uj").write_text(f"{uj}\n")
            yp.log_metric("loss", 1 / (epoch + 1), step=epoch, context="training")
            yp.log_system_metrics(step=epoch)
    record = engine.record(step)
    document = engine.finish()
    series = by_name(record.metrics)
    assert {
        "time_s",
        "cpu_s",
        "memory_peak_bytes",
        "memory_rss_bytes",
        "gpu_util_pct",
        "gpu_energy_j",
        "cpu_package_energy_j",
        "cpu_energy_j",
        "loss",
    } <= set(series)
    assert all(s.context == "system" for n, s in series.items() if n != "loss")
    energy = {ref.name: read_series(engine.run_dir, ref) for ref in find_series(document.doc)}
    gpu = [value for _, value, _ in energy["gpu_energy_j"] or []]
    assert gpu[1:] == [2.0, 3.0]  # the NVML counter between two calls
    assert gpu[0] > 0  # the first call: power x time (no earlier counter reading)
    assert "nvml_energy_counter between calls" in (series["gpu_energy_j"].source or "")
    package = [value for _, value, _ in energy["cpu_package_energy_j"] or []]
    assert package == [5.0, 5.0, 5.0]  # from the channel's opening, then between calls
    attributed = [value for _, value, _ in energy["cpu_energy_j"] or []]
    assert all(0 <= a <= p for a, p in zip(attributed, package, strict=True))
    assert series["gpu_util_pct"].last == 80.0 and series["gpu_energy_j"].unit == "J"
    assert (series["time_s"].count, series["time_s"].unit) == (3, "s")
    assert not record.tracking_missing


def test_missing_figures_say_why(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(PROCESS, "gpus", Gpus.open(module=FakeNvml([])))
    monkeypatch.setattr(PROCESS, "rapl", Rapl.open(tmp_path / "no-powercap"))
    engine = MiniEngine(tmp_path / "out")
    step = engine.open("train")
    with step.channel.active():
        yp.log_system_metrics()
        yp.log_system_metrics()
    record = engine.record(step)
    document = engine.finish()
    assert record.tracking_missing["system_gpu"] == "no NVIDIA GPU found"
    assert record.tracking_missing["system_cpu_energy"].startswith("no RAPL")
    activity = document.steps("train")[0]
    assert activity["ywf:missing_system_gpu"] == "no NVIDIA GPU found"
    assert by_name(record.metrics)["time_s"].count == 2


def test_a_cpu_only_process_on_a_gpu_host_gets_no_gpu_figures(
    tmp_path: Path, monkeypatch: Any
) -> None:
    other = FakeDevice(uuid="GPU-2", compute=[FakeProcess(999_999_999, 1 << 30)])
    monkeypatch.setattr(PROCESS, "gpus", Gpus.open(module=FakeNvml([other])))
    monkeypatch.setattr(PROCESS, "rapl", Rapl.open(tmp_path / "no-powercap"))
    engine = MiniEngine(tmp_path / "out")
    step = engine.open("train")
    with step.channel.active():
        yp.log_system_metrics(step=0)
    record = engine.record(step)
    engine.finish()
    assert "held no GPU memory" in record.tracking_missing["system_gpu"]
    assert "gpu_energy_j" not in by_name(record.metrics)
