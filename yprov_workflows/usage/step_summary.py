"""The summary of one watched step, made by the sampler when the step ends: gauge summaries, GPU
figures and energy, CPU package energy; every group names its source or says why it is missing.

Figure names end in their unit. GPUs appear as `gpu<NVML index>_...` with their UUID and name,
and only those on which a process of the step held memory (the step's own GPUs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yprov_workflows.usage.nvml import GpuDevice, Gpus, energy_delta_mj
from yprov_workflows.usage.rapl import Rapl
from yprov_workflows.usage.step_watch import GPU_GAUGES, Counters, Figures, StepWatch, gauge_figures

ENERGY_COUNTER_MIN_S = 1.0  # the NVML counter moves about every 100 ms: too coarse below this


@dataclass
class Summary:
    figures: Figures = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def as_json(self, series: str | None) -> dict[str, object]:
        return {
            "figures": self.figures,
            "sources": self.sources,
            "missing": self.missing,
            "series": series,
        }


@dataclass(frozen=True)
class Hardware:
    """The sampler's backends (each says why where it could not open) and its tick."""

    gpus: Gpus
    rapl: Rapl
    tick_s: float


def summarize(watch: StepWatch, end: Counters, duration_s: float, hw: Hardware) -> Summary:
    summary = Summary()
    summary.figures["samples"] = watch.samples
    _tree(summary, watch, hw)
    _gpus(summary, watch, end, duration_s, hw)
    _unsupported(summary, watch, hw.gpus)
    _cpu_energy(summary, watch, end, hw.rapl)
    return summary


def _tree(summary: Summary, watch: StepWatch, hw: Hardware) -> None:
    if watch.tree["rss_bytes"].count == 0:
        summary.missing["gauges"] = (
            "no sample: the step ended before the first one"
            if watch.roots
            else "no process of its own to sample"
        )
        return
    for name, gauge in watch.tree.items():
        summary.figures.update(gauge_figures(f"sampled_{name}", gauge))
    summary.sources["gauges"] = (
        f"sampled from /proc: the step's process tree, every {hw.tick_s:g} s (faster at first)"
    )


def _gpus(
    summary: Summary, watch: StepWatch, end: Counters, duration_s: float, hw: Hardware
) -> None:
    if hw.gpus.reason is not None:
        summary.missing["gpu"] = hw.gpus.reason
        return
    used = [d for d in hw.gpus.devices if d.uuid in watch.used_gpus]
    if not used:
        summary.missing["gpu"] = (
            "no process of this step held GPU memory (a CPU-only step, or process ids hidden "
            "from NVML, as in some containers)"
        )
        return
    summary.sources["gpu"] = "nvml, sampled with the process tree"
    total = 0.0
    for device in used:
        total += _gpu(summary, watch, device, end, duration_s)
    summary.figures["gpu_energy_j"] = round(total, 3)


def _gpu(
    summary: Summary, watch: StepWatch, device: GpuDevice, end: Counters, duration_s: float
) -> float:
    prefix = f"gpu{device.index}"
    gauges = watch.gpu[device.uuid]
    summary.figures[f"{prefix}_uuid"] = device.uuid
    summary.figures[f"{prefix}_name"] = device.name
    for name in GPU_GAUGES:
        summary.figures.update(gauge_figures(f"{prefix}_{name}", gauges[name]))
    summary.figures[f"{prefix}_attribution"] = _attribution(watch, device.uuid)
    joules, source = _gpu_energy(watch, device.uuid, end, duration_s)
    if joules is None:
        summary.missing[f"{prefix}_energy"] = source
        return 0.0
    summary.figures[f"{prefix}_energy_j"] = round(joules, 3)
    summary.sources[f"{prefix}_energy"] = source
    return joules


def _unsupported(summary: Summary, watch: StepWatch, gpus: Gpus) -> None:
    """Queries a GPU of the step does not answer (MIG utilisation, energy before Volta)."""
    unsupported = gpus.unsupported()
    for device in gpus.devices:
        queries = unsupported.get(device.uuid)
        if device.uuid in watch.used_gpus and queries:
            summary.missing[f"gpu{device.index}_queries"] = (
                f"not supported by this GPU or driver (NVML): {', '.join(sorted(queries))}"
            )


def _attribution(watch: StepWatch, uuid: str) -> str:
    if uuid in watch.shared_gpus:
        return "shared: other processes used this GPU during the step (device-wide figures)"
    if watch.concurrent > 1:
        return f"shared: {watch.concurrent} steps were watched at once (device-wide figures)"
    return "exclusive: only this step's processes used the GPU"


def _gpu_energy(
    watch: StepWatch, uuid: str, end: Counters, duration_s: float
) -> tuple[float | None, str]:
    delta = energy_delta_mj(watch.start.gpu_mj.get(uuid), end.gpu_mj.get(uuid))
    head = watch.first_power_w.get(uuid, 0.0) * (watch.arrived - watch.t0)  # before the watch
    if delta is not None and duration_s >= ENERGY_COUNTER_MIN_S:
        return delta / 1000.0 + head, "nvml_energy_counter"
    integral = watch.gpu[uuid]["power_w"].integral()
    if integral is not None:
        return integral + head, "power_x_time: sampled power integrated over the step"
    return None, "no energy counter and fewer than two power samples"


def _cpu_energy(summary: Summary, watch: StepWatch, end: Counters, rapl: Rapl) -> None:
    if rapl.reason is not None:
        summary.missing["cpu_energy"] = rapl.reason
        return
    start_busy, end_busy = watch.start.host_busy_s, end.host_busy_s
    if not watch.rapl.joules or start_busy is None or end_busy is None:
        summary.missing["cpu_energy"] = "RAPL or /proc/stat could not be read during the step"
        return
    summary.figures["cpu_package_energy_j"] = round(sum(watch.rapl.joules.values()), 3)
    summary.figures["host_busy_cpu_s"] = round(end_busy - start_busy, 6)
    summary.sources["cpu_energy"] = "rapl: package counters (socket-wide), summed every sample"
