"""GPU figures from NVML, through NVIDIA's binding `nvidia-ml-py` (import name `pynvml`).

The binding is an optional extra (`pip install 'yprov-workflows[gpu]'`). The PyPI project named
`pynvml` is deprecated: version 13 warns on import (silenced here) and versions <= 11.5 shadow
NVIDIA's module; both cases, like a missing driver, leave `Gpus.reason` saying why there are no
GPU figures. Nothing here raises: a failed query is a missing value, never an error in a step.

Costs (measured on an H200):

- `nvmlInit` 10-12 ms, and a failed init (no driver) retries the library load every time: open
  `Gpus` once per sampler and keep it, failure included. Nothing is cached at module level.
- utilisation, memory, power and running processes: 1-8 microseconds per call, so `sample()` can
  run at 10 Hz.
- total energy (`nvmlDeviceGetTotalEnergyConsumption`, mJ since the driver loaded, Volta and
  later) about 3 ms: `energy_mj()` is for step boundaries, not for every sample. The counter moves
  about every 100 ms; for shorter steps, or when it goes back (driver reload), the caller falls back
  to power x time.

Devices are identified by UUID: NVML's index order differs from `CUDA_VISIBLE_DEVICES` order.
A query that NVML reports as unsupported on a device (utilisation on a MIG-enabled GPU, energy
before Volta, a function missing from an older driver) is never called again on that device and
is listed by `unsupported()`, so the document can say why the figure is missing. Energy and
utilisation are device-wide; process memory is per PID (PIDs may not match inside containers).
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["GpuDevice", "GpuSample", "Gpus", "energy_delta_mj"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_NO_LIBRARY = "no NVIDIA GPU library: pip install nvidia-ml-py (the gpu extra)"
_SHADOWED = (
    "the deprecated 'pynvml' package shadows NVIDIA's nvidia-ml-py: "
    "pip uninstall pynvml && pip install nvidia-ml-py"
)
_NO_GPU = "no NVIDIA GPU found"

_UTILIZATION = "nvmlDeviceGetUtilizationRates"
_MEMORY = "nvmlDeviceGetMemoryInfo"
_POWER = "nvmlDeviceGetPowerUsage"
_ENERGY = "nvmlDeviceGetTotalEnergyConsumption"
_COMPUTE = "nvmlDeviceGetComputeRunningProcesses"
_GRAPHICS = "nvmlDeviceGetGraphicsRunningProcesses"


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as NVML lists it."""

    index: int
    uuid: str
    name: str
    memory_total_bytes: int | None


@dataclass(frozen=True)
class GpuSample:
    """The cheap gauges of one device at one moment; None where NVML gave no value."""

    uuid: str
    utilization_pct: float | None
    memory_used_bytes: int | None
    power_w: float | None
    process_memory_bytes: dict[int, int] = field(default_factory=dict)


def energy_delta_mj(before: int | None, after: int | None) -> int | None:
    """Energy between two counter readings; None when either is missing or the counter went back
    (driver reload/reset: the caller falls back to power x time)."""
    if before is None or after is None or after < before:
        return None
    return after - before


def _classes(module: Any, *names: str) -> tuple[type[BaseException], ...]:
    found = (getattr(module, name, None) for name in names)
    return tuple(c for c in found if isinstance(c, type) and issubclass(c, BaseException))


def _codes(module: Any, *names: str) -> frozenset[int]:
    found = (getattr(module, name, None) for name in names)
    return frozenset(code for code in found if isinstance(code, int))


@dataclass(frozen=True)
class _Errors:
    """The exception classes and codes of one NVML module; empty where the module lacks them
    (`NVMLLibraryMismatchError` is a plain `Exception`, absent from older bindings)."""

    nvml: tuple[type[BaseException], ...]
    mismatch: tuple[type[BaseException], ...]
    permanent: tuple[type[BaseException], ...]
    permanent_codes: frozenset[int]
    no_driver_codes: frozenset[int]

    @classmethod
    def of(cls, module: Any) -> _Errors:
        return cls(
            nvml=_classes(module, "NVMLError"),
            mismatch=_classes(module, "NVMLLibraryMismatchError"),
            permanent=_classes(module, "NVMLError_NotSupported", "NVMLError_FunctionNotFound"),
            permanent_codes=_codes(
                module, "NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_FUNCTION_NOT_FOUND"
            ),
            no_driver_codes=_codes(
                module, "NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_DRIVER_NOT_LOADED"
            ),
        )

    def is_nvml(self, error: BaseException) -> bool:
        return isinstance(error, self.nvml + self.mismatch)

    def has_code(self, error: BaseException, codes: frozenset[int]) -> bool:
        return isinstance(error, self.nvml) and getattr(error, "value", None) in codes

    def is_permanent(self, error: BaseException) -> bool:
        """Not supported here, or missing from this driver: asking again cannot help."""
        if isinstance(error, self.permanent + self.mismatch):
            return True
        return self.has_code(error, self.permanent_codes)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _describe(errors: _Errors, error: BaseException) -> str:
    if errors.is_nvml(error):
        return _one_line(error)
    return f"{type(error).__name__}: {_one_line(error)}"


def _import_pynvml() -> Any | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyPI `pynvml` 13 warns on every import
        try:
            return importlib.import_module("pynvml")
        except ImportError:
            return None


def _init(module: Any, errors: _Errors) -> str | None:
    """None when NVML started, else why it did not."""
    try:
        module.nvmlInit()
    except Exception as error:
        if errors.has_code(error, errors.no_driver_codes):
            return f"no NVIDIA driver: {_one_line(error)}"
        return f"NVML failed to start: {_describe(errors, error)}"
    return None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _optional(read: Callable[[], _T]) -> _T | None:
    try:
        return read()
    except Exception:
        return None


def _device(module: Any, index: int) -> tuple[GpuDevice, Any] | None:
    """The device at this NVML index and its handle; None when it does not answer."""
    try:
        handle = module.nvmlDeviceGetHandleByIndex(index)
        uuid = _text(module.nvmlDeviceGetUUID(handle))
    except Exception as error:
        _log.warning("GPU %d skipped: NVML gave no handle or UUID (%s)", index, error)
        return None
    name = _optional(lambda: _text(module.nvmlDeviceGetName(handle)))
    total = _optional(lambda: int(module.nvmlDeviceGetMemoryInfo(handle).total))
    return GpuDevice(index, uuid, name or "unknown GPU", total), handle


def _process_memory(processes: Iterable[Any]) -> dict[int, int]:
    """PID -> used GPU memory; processes whose memory NVML does not know (None) are left out."""
    memory: dict[int, int] = {}
    for process in processes:
        used = getattr(process, "usedGpuMemory", None)
        if used is not None:
            _keep_max(memory, int(process.pid), int(used))
    return memory


def _keep_max(memory: dict[int, int], pid: int, used: int) -> None:
    memory[pid] = max(memory.get(pid, 0), used)


class Gpus:
    """The NVIDIA GPUs of this host, opened once with `Gpus.open()` and closed with `close()`.

    `reason` is None when NVML answered and found devices; otherwise `devices` is empty and
    `reason` is one line saying why there are no GPU figures. No method raises.
    """

    def __init__(
        self,
        reason: str | None,
        module: Any | None = None,
        found: Iterable[tuple[GpuDevice, Any]] = (),
    ) -> None:
        found = list(found)
        self.devices: tuple[GpuDevice, ...] = tuple(device for device, _ in found)
        self.reason = reason
        self._module = module
        self._errors = _Errors.of(module)
        self._handles = {device.uuid: handle for device, handle in found}
        self._unsupported: dict[str, list[str]] = {}

    @classmethod
    def open(cls, module: Any | None = None) -> Gpus:
        """Start NVML (importing `pynvml` unless a module is given) and list the devices."""
        try:
            return cls._open(_import_pynvml() if module is None else module)
        except Exception as error:  # a bug here must not reach the user's step
            _log.warning("GPU figures disabled: %r", error)
            return cls(f"NVML failed: {type(error).__name__}: {_one_line(error)}")

    @classmethod
    def _open(cls, module: Any | None) -> Gpus:
        if module is None:
            return cls(_NO_LIBRARY)
        if not hasattr(module, "_nvmlGetFunctionPointer"):
            return cls(_SHADOWED)
        reason = _init(module, _Errors.of(module))
        return cls(reason) if reason else cls._started(module)

    @classmethod
    def _started(cls, module: Any) -> Gpus:
        """The devices of a started NVML; NVML is shut down again when there are none."""
        try:
            count = int(module.nvmlDeviceGetCount())
        except Exception as error:
            described = _describe(_Errors.of(module), error)
            return cls._stopped(module, f"NVML could not count GPUs: {described}")
        found = [f for f in (_device(module, i) for i in range(count)) if f is not None]
        if found:
            return cls(None, module, found)
        return cls._stopped(module, f"no NVIDIA GPU answered: {count} listed" if count else _NO_GPU)

    @classmethod
    def _stopped(cls, module: Any, reason: str) -> Gpus:
        _optional(module.nvmlShutdown)
        return cls(reason)

    def sample(self) -> list[GpuSample]:
        """Utilisation, memory, power and per-process memory of every device (microseconds)."""
        if self._module is None:
            return []
        return [self._sample(device.uuid) for device in self.devices]

    def _sample(self, uuid: str) -> GpuSample:
        return GpuSample(
            uuid=uuid,
            utilization_pct=self._query(uuid, _UTILIZATION, lambda rates: float(rates.gpu)),
            memory_used_bytes=self._query(uuid, _MEMORY, lambda memory: int(memory.used)),
            power_w=self._query(uuid, _POWER, lambda milliwatts: int(milliwatts) / 1000),
            process_memory_bytes=self._processes(uuid),
        )

    def _processes(self, uuid: str) -> dict[int, int]:
        """Compute and graphics processes; a process in both lists (type C+G) is counted once:
        NVML reports the process's memory in each list."""
        memory: dict[int, int] = {}
        for query in (_COMPUTE, _GRAPHICS):
            for pid, used in (self._query(uuid, query, _process_memory) or {}).items():
                _keep_max(memory, pid, used)
        return memory

    def energy_mj(self) -> dict[str, int | None]:
        """Each device's energy counter (mJ since the driver loaded); about 3 ms per device."""
        return {device.uuid: self._query(device.uuid, _ENERGY, int) for device in self.devices}

    def driver_version(self) -> str | None:
        """The NVIDIA driver's version; None without NVML or when it does not say."""
        module = self._module
        if module is None:
            return None
        return _optional(lambda: _text(module.nvmlSystemGetDriverVersion()))

    def unsupported(self) -> dict[str, list[str]]:
        """UUID -> the NVML queries that proved unsupported on that device (never asked again)."""
        return {uuid: list(queries) for uuid, queries in self._unsupported.items()}

    def close(self) -> None:
        """Shut NVML down if this object started it; later calls do nothing."""
        module, self._module = self._module, None
        if module is not None:
            _optional(module.nvmlShutdown)

    def _query(self, uuid: str, query: str, convert: Callable[[Any], _T]) -> _T | None:
        """One NVML query on one device, converted; None when it fails or is unsupported."""
        if self._module is None or query in self._unsupported.get(uuid, ()):
            return None
        try:
            return convert(getattr(self._module, query)(self._handles[uuid]))
        except Exception as error:
            self._failed(uuid, query, error)
            return None

    def _failed(self, uuid: str, query: str, error: Exception) -> None:
        """A permanent failure disables the query on that device; other NVML errors are
        transient (None for this sample only). Anything else is a bug: disabled, with a warning."""
        if self._errors.is_permanent(error):
            _log.debug("%s unsupported on %s: %s", query, uuid, _one_line(error))
        elif self._errors.is_nvml(error):
            _log.debug("%s failed on %s: %s", query, uuid, _one_line(error))
            return
        else:
            _log.warning("%s on %s disabled after %r", query, uuid, error)
        self._unsupported.setdefault(uuid, []).append(query)
