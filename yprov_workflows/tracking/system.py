"""`log_system_metrics`: what the calling process used since its previous call in the step (or
since the step's start), as metric series with their unit and source.

| series | unit | source |
| --- | --- | --- |
| `time_s` | s | wall time since the previous call (monotonic clock) |
| `cpu_s` | s | `getrusage`: this process and the child processes it reaped |
| `memory_peak_bytes`, `memory_rss_bytes` | bytes | `/proc/self/status` (VmHWM, VmRSS) |
| `gpu_util_pct` | percent | NVML utilisation at the call, mean over this process's GPUs |
| `gpu_energy_j` | J | NVML energy counter since the previous call; power at the call x time for a process's first call or an interval under 1 s |
| `cpu_package_energy_j`, `cpu_energy_j` | J | RAPL package energy (socket-wide) and its part attributed to this process by its share of the host's busy CPU time (an estimate) |

A group that cannot be measured is missing with its reason (`system_memory`, `system_gpu`,
`system_gpu_energy`, `system_cpu_energy`), as the step summaries say why (docs/usage.md). The first
call of a process reads NVML's energy counter for the first time, so its GPU energy is power x
time; the RAPL counters are read when the step's channel opens, so the first call has them.
"""  # noqa: E501

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from yprov_workflows.environment import HOST
from yprov_workflows.tracking.layout import read_info
from yprov_workflows.tracking.process import ProcessState
from yprov_workflows.tracking.sink import Sink
from yprov_workflows.usage.nvml import Gpus, GpuSample, energy_delta_mj
from yprov_workflows.usage.proctree import tree_pids
from yprov_workflows.usage.rapl import Rapl, attributed_energy_j, energy_between, host_busy_cpu_s

ENERGY_COUNTER_MIN_S = 1.0  # the NVML counter moves about every 100 ms
Reading = tuple[str, float, str, str]  # name, value, unit, source
Missing = dict[str, str | None]  # group -> reason (None: measured)

WALL = "monotonic clock: wall time since the previous call in this step (or the step's start)"
CPU = (
    "getrusage: CPU time of this process and the child processes it reaped since the previous "
    "call (the whole process: other steps running in it included)"
)
PEAK = "/proc/self/status VmHWM: this process's peak resident memory so far"
RSS = "/proc/self/status VmRSS: this process's resident memory at the call"
GPU_ENERGY = (
    "nvml_energy_counter between calls; nvml_power_x_time (power at the call x time) for a "
    "process's first call and intervals under 1 s"
)
PACKAGE = "rapl: package energy since the previous call (socket-wide: every process)"
ATTRIBUTED = (
    "rapl: package energy x this process's share of the host's busy CPU time since the previous "
    "call (an estimate)"
)


@dataclass
class Mark:
    """The counters at one call (or at the step's start)."""

    wall: float
    cpu: float
    gpu_mj: dict[str, int | None] = field(default_factory=dict)
    rapl_uj: dict[str, int | None] | None = None
    busy: float | None = None


def process_cpu_s() -> float:
    """CPU seconds of this process and its reaped children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rapl_mark(process: ProcessState) -> tuple[dict[str, int | None] | None, float | None]:
    """The RAPL counters and the host's busy CPU time now; (None, None) where not readable."""
    rapl = opened_rapl(process)
    if rapl.reason is not None:
        return None, None
    return rapl.read_uj(), host_busy_cpu_s()


def measure(sink: Sink, process: ProcessState, entered_cpu: float | None) -> list[Reading]:
    """This call's readings; the missing groups go to the sink's events."""
    previous = sink.state.get("system") or _start_mark(sink, entered_cpu)
    now = Mark(time.monotonic(), process_cpu_s())
    interval = max(now.wall - previous.wall, 0.0)
    cpu = max(now.cpu - previous.cpu, 0.0)
    readings: list[Reading] = [("time_s", interval, "s", WALL), ("cpu_s", cpu, "s", CPU)]
    missing: Missing = {}
    readings += _memory(missing)
    readings += _gpu(opened_gpus(process), previous, now, interval, missing)
    readings += _cpu_energy(process, previous, now, cpu, missing)
    sink.state["system"] = now
    for group, reason in missing.items():
        sink.missing(group, reason)
    return readings


def _start_mark(sink: Sink, entered_cpu: float | None) -> Mark:
    """The step's start as this process knows it: the channel's start time and RAPL counters
    (from channel.json), and CPU when the step was entered in this process (or since it began)."""
    info = read_info(sink.folder)
    wall = _number(info.get("started_monotonic"))
    if wall is None or info.get("host") != HOST:
        wall = time.monotonic() - _since(info.get("started_unix"))
    rapl = info.get("rapl_uj")
    return Mark(
        wall=wall,
        cpu=entered_cpu or 0.0,
        rapl_uj=rapl if isinstance(rapl, dict) else None,
        busy=_number(info.get("host_busy_s")),
    )


def _since(started_unix: Any) -> float:
    started = _number(started_unix)
    return max(time.time() - started, 0.0) if started is not None else 0.0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _memory(missing: Missing) -> list[Reading]:
    found = _status_kib(("VmHWM:", "VmRSS:"))
    if len(found) < 2:
        missing["system_memory"] = "/proc/self/status could not be read (not Linux?)"
        return []
    missing["system_memory"] = None
    return [
        ("memory_peak_bytes", found["VmHWM:"] * 1024.0, "bytes", PEAK),
        ("memory_rss_bytes", found["VmRSS:"] * 1024.0, "bytes", RSS),
    ]


def _status_kib(keys: tuple[str, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                key = line.split(b" ", 1)[0].split(b"\t", 1)[0].decode()
                if key in keys:
                    found[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return {}
    return found


# -- GPU ------------------------------------------------------------------------------------


def opened_gpus(process: ProcessState) -> Gpus:
    if process.gpus is None:
        process.gpus = Gpus.open()
    return process.gpus


def opened_rapl(process: ProcessState) -> Rapl:
    if process.rapl is None:
        process.rapl = Rapl.open()
    return process.rapl


def _gpu(gpus: Gpus, previous: Mark, now: Mark, interval: float, missing: Missing) -> list[Reading]:
    if gpus.reason is not None:
        missing["system_gpu"] = missing["system_gpu_energy"] = gpus.reason
        return []
    samples, note = _my_gpus(gpus.sample())
    if not samples:
        missing["system_gpu"] = missing["system_gpu_energy"] = note
        return []
    missing["system_gpu"] = None
    names = _device_names(gpus, samples)
    readings: list[Reading] = []
    utils = [s.utilization_pct for s in samples if s.utilization_pct is not None]
    if utils:
        source = f"nvml: utilisation at the call, mean of {names}{note}"
        readings.append(("gpu_util_pct", sum(utils) / len(utils), "percent", source))
    now.gpu_mj = gpus.energy_mj()
    energy = _gpu_energy(samples, previous, now, interval)
    if energy is None:
        missing["system_gpu_energy"] = "no energy counter and no power reading from NVML"
        return readings
    missing["system_gpu_energy"] = None
    return [*readings, ("gpu_energy_j", energy, "J", f"{GPU_ENERGY}: {names}{note}")]


def _my_gpus(samples: list[GpuSample]) -> tuple[list[GpuSample], str]:
    """The GPUs on which this process (or a child) holds memory; every GPU, said so, when NVML
    lists no process at all (process ids hidden, as in some containers)."""
    mine = set(tree_pids([os.getpid()]))
    used = [s for s in samples if mine & set(s.process_memory_bytes)]
    if used:
        return used, ""
    if any(s.process_memory_bytes for s in samples):
        return [], "this process held no GPU memory (a CPU-only step)"
    return samples, " (device-wide: NVML lists no process, so every GPU is counted)"


def _device_names(gpus: Gpus, samples: list[GpuSample]) -> str:
    index = {device.uuid: device.index for device in gpus.devices}
    return "GPU " + ", ".join(str(index.get(s.uuid, "?")) for s in samples)


def _gpu_energy(
    samples: list[GpuSample], previous: Mark, now: Mark, interval: float
) -> float | None:
    """Joules over the interval, by the counter where it can, else power x time; None when a
    GPU gives neither."""
    total = 0.0
    for sample in samples:
        delta = energy_delta_mj(previous.gpu_mj.get(sample.uuid), now.gpu_mj.get(sample.uuid))
        if delta is not None and interval >= ENERGY_COUNTER_MIN_S:
            total += delta / 1000.0
        elif sample.power_w is not None:
            total += sample.power_w * interval
        else:
            return None
    return total


# -- CPU energy -----------------------------------------------------------------------------


def _cpu_energy(
    process: ProcessState, previous: Mark, now: Mark, cpu: float, missing: Missing
) -> list[Reading]:
    rapl = opened_rapl(process)
    if rapl.reason is not None:
        missing["system_cpu_energy"] = rapl.reason
        return []
    now.rapl_uj, now.busy = rapl.read_uj(), host_busy_cpu_s()
    if previous.rapl_uj is None or previous.busy is None or now.busy is None:
        missing["system_cpu_energy"] = "no earlier RAPL reading in this step: from the next call on"
        return []
    joules = energy_between(rapl.zones, previous.rapl_uj, now.rapl_uj).values()
    known = [j for j in joules if j is not None]
    if not known:
        missing["system_cpu_energy"] = "RAPL gave no reading since the previous call"
        return []
    missing["system_cpu_energy"] = None
    package: list[Reading] = [("cpu_package_energy_j", sum(known), "J", PACKAGE)]
    share = attributed_energy_j(sum(known), cpu, now.busy - previous.busy)
    if share is None:
        missing["system_cpu_energy_attributed"] = (
            "the host's busy CPU time did not grow since the previous call"
        )
        return package
    missing["system_cpu_energy_attributed"] = None
    return [*package, ("cpu_energy_j", share[1], "J", ATTRIBUTED)]
