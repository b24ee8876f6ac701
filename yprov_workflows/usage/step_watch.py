"""What the sampler process keeps for one watched step: gauge summaries, the GPUs the step's
processes used, the counters read when the watch began, and the optional time-series file."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from yprov_workflows.usage.gauges import Gauge
from yprov_workflows.usage.nvml import GpuDevice, GpuSample
from yprov_workflows.usage.proctree import TreeSample, cpu_percent
from yprov_workflows.usage.rapl import RaplZone, delta_uj

Figures = dict[str, float | int | str | None]
STATS = ("min", "mean", "max", "last", "count", "interval_s")
TREE_GAUGES = ("rss_bytes", "cpu_pct", "processes")
GPU_GAUGES = ("util_pct", "mem_used_bytes", "power_w", "proc_mem_bytes")


@dataclass(frozen=True)
class Counters:
    """Boundary readings: GPU energy (mJ per UUID) and host busy CPU (s). RAPL is summed at every
    sample instead (`RaplAccount`)."""

    gpu_mj: dict[str, int | None] = field(default_factory=dict)
    host_busy_s: float | None = None


class SeriesFile:
    """A CSV written row by row while the step runs (a crash leaves what was sampled), gzipped
    when the step lasted long enough to keep it, removed otherwise."""

    def __init__(self, path: Path, columns: list[str], keep_after_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.keep_after_s = keep_after_s
        self.columns = columns
        self._handle = path.open("w", encoding="ascii", buffering=1)  # line buffered
        self._handle.write(",".join(columns) + "\n")

    def write(self, row: list[float | int | None]) -> None:
        self._handle.write(",".join(_cell(v) for v in row) + "\n")

    def finish(self, duration_s: float) -> Path | None:
        self._handle.close()
        if duration_s < self.keep_after_s:
            self.path.unlink(missing_ok=True)
            return None
        target = self.path.with_name(self.path.name + ".gz")
        with self.path.open("rb") as source, gzip.open(target, "wb", compresslevel=6) as sink:
            shutil.copyfileobj(source, sink)
        self.path.unlink()
        return target


def _cell(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else str(round(value, 3))


def series_columns(devices: tuple[GpuDevice, ...]) -> list[str]:
    gpu = [f"gpu{d.index}_{g}" for d in devices for g in GPU_GAUGES]
    return ["t_s", *TREE_GAUGES, *gpu]


class StepWatch:
    """Samples of one step, accumulated in the sampler process."""

    def __init__(
        self,
        t0: float,
        start: Counters,
        series: SeriesFile | None,
        rapl: RaplAccount,
        arrived: float | None = None,
    ) -> None:
        self.t0 = t0  # the step's start
        self.arrived = t0 if arrived is None else arrived  # when the sampler began watching
        self.first_power_w: dict[str, float] = {}
        self.start = start
        self.series = series
        self.roots: set[int] = set()
        self.tree = {name: Gauge(name) for name in TREE_GAUGES}
        self.gpu: dict[str, dict[str, Gauge]] = {}
        self.used_gpus: set[str] = set()
        self.shared_gpus: set[str] = set()
        self.concurrent = 1
        self.samples = 0
        self.next_due = t0
        self._last_tree: TreeSample | None = None
        self.rapl = rapl

    def observe(self, now: float, tree: TreeSample | None, gpus: list[GpuSample]) -> None:
        self.samples += 1
        row: list[float | int | None] = [round(now - self.t0, 3), *self._observe_tree(now, tree)]
        pids = set(tree.pids) if tree is not None else set()
        for sample in gpus:
            row += self._observe_gpu(now, sample, pids)
        if self.series is not None:
            self.series.write(row)

    def _observe_tree(self, now: float, tree: TreeSample | None) -> list[float | int | None]:
        if tree is None:
            return [None, None, None]
        cpu = cpu_percent(self._last_tree, tree) if self._last_tree is not None else None
        self._last_tree = tree
        values = [tree.rss_bytes, cpu, tree.processes]
        for name, value in zip(TREE_GAUGES, values, strict=True):
            self.tree[name].add(now, value)
        return values

    def _observe_gpu(
        self, now: float, sample: GpuSample, pids: set[int]
    ) -> list[float | int | None]:
        on_device = sample.process_memory_bytes
        mine = [mem for pid, mem in on_device.items() if pid in pids]
        if mine:
            self.used_gpus.add(sample.uuid)
        if set(on_device) - pids:
            self.shared_gpus.add(sample.uuid)
        values = [sample.utilization_pct, sample.memory_used_bytes, sample.power_w, sum(mine)]
        if sample.power_w is not None:
            self.first_power_w.setdefault(sample.uuid, sample.power_w)
        gauges = self.gpu.setdefault(sample.uuid, {name: Gauge(name) for name in GPU_GAUGES})
        for name, value in zip(GPU_GAUGES, values, strict=True):
            gauges[name].add(now, value)
        return values


class RaplAccount:
    """Package energy summed tick by tick, so that a counter that wraps several times during a
    long step (every few minutes at high power) is still counted right."""

    def __init__(self, start: dict[str, int | None]) -> None:
        self.last = dict(start)
        self.joules: dict[str, float] = {}

    def add(self, zones: tuple[RaplZone, ...], reading: dict[str, int | None]) -> None:
        for zone in zones:
            before, now = self.last.get(zone.name), reading.get(zone.name)
            if before is not None and now is not None:
                step_j = delta_uj(before, now, zone.max_range_uj) / 1e6
                self.joules[zone.name] = self.joules.get(zone.name, 0.0) + step_j
            if now is not None:
                self.last[zone.name] = now


def gauge_figures(prefix: str, gauge: Gauge) -> Figures:
    """`<prefix>_min`, `_mean`, `_max`, `_last`, `_count`, `_interval_s` of one gauge."""
    summary = gauge.summary()
    return {
        f"{prefix}_{stat}": _rounded(summary[stat])
        for stat in STATS
        if summary.get(stat) is not None
    }


def _rounded(value: float | int | None) -> float | int | None:
    return round(value, 3) if isinstance(value, float) else value
