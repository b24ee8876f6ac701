"""A fake `pynvml` (NVIDIA's nvidia-ml-py) for tests on machines without a GPU.

It follows nvidia-ml-py 13.x (`pynvml.py`): `NVMLError(value)` maps the code to a generated
subclass (`NVMLError(3)` is an `NVMLError_NotSupported`, and `NVMLError_NotSupported()` takes no
argument), `NVMLLibraryMismatchError` is a plain `Exception` raised by unversioned functions
such as `nvmlDeviceGetComputeRunningProcesses` when the driver lacks the versioned symbol, device
queries before `nvmlInit` raise `NVMLError_Uninitialized`, names and UUIDs come back as `str`
(the deprecated PyPI `pynvml` <= 11.4 returned `bytes`), power is in mW, energy in mJ, and a
process whose memory is not available has `usedGpuMemory = None`.

Use it as the module: `Gpus.open(module=FakeNvml([FakeDevice(...)]))`. `fail()` makes a query
raise; `calls` counts every query by name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_TIMEOUT: "Timeout",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLLibraryMismatchError(Exception):
    pass


class NVMLError(Exception):
    """As in nvidia-ml-py: the base class maps a code to its subclass; `.value` is the code."""

    _by_value: ClassVar[dict[int, type[NVMLError]]] = {}
    code: ClassVar[int | None] = None
    value: int

    def __new__(cls, *args: Any) -> NVMLError:
        value = cls.code if cls.code is not None else args[0]
        if cls is NVMLError:
            cls = NVMLError._by_value.get(value, cls)
        error = Exception.__new__(cls)
        error.value = value
        return error

    def __init_subclass__(cls) -> None:
        if cls.code is not None:
            NVMLError._by_value[cls.code] = cls

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")

    def __eq__(self, other: object) -> bool:  # nvidia-ml-py defines it (so: unhashable)
        return bool(self.value == other.value)  # type: ignore[attr-defined]


class NVMLError_Uninitialized(NVMLError):
    code = NVML_ERROR_UNINITIALIZED


class NVMLError_NotSupported(NVMLError):
    code = NVML_ERROR_NOT_SUPPORTED


class NVMLError_DriverNotLoaded(NVMLError):
    code = NVML_ERROR_DRIVER_NOT_LOADED


class NVMLError_Timeout(NVMLError):
    code = NVML_ERROR_TIMEOUT


class NVMLError_LibraryNotFound(NVMLError):
    code = NVML_ERROR_LIBRARY_NOT_FOUND


class NVMLError_FunctionNotFound(NVMLError):
    code = NVML_ERROR_FUNCTION_NOT_FOUND


class NVMLError_GpuIsLost(NVMLError):
    code = NVML_ERROR_GPU_IS_LOST


class NVMLError_Unknown(NVMLError):
    code = NVML_ERROR_UNKNOWN


@dataclass
class FakeProcess:
    """Like nvidia-ml-py's process objects (`nvmlFriendlyObject` of `c_nvmlProcessInfo_v3_t`)."""

    pid: int
    usedGpuMemory: int | None
    gpuInstanceId: int = 0xFFFFFFFF
    computeInstanceId: int = 0xFFFFFFFF


@dataclass
class FakeDevice:
    """One GPU; change its fields between samples to simulate load."""

    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"
    name: str | bytes = "NVIDIA H200"
    memory_total: int = 150_000_000_000
    memory_used: int = 1_000_000_000
    utilization: int = 0
    power_mw: int = 80_000
    energy_mj: int = 0
    compute: list[FakeProcess] = field(default_factory=list)
    graphics: list[FakeProcess] = field(default_factory=list)


@dataclass
class _Failure:
    error: BaseException
    uuid: str | None
    times: int | None


@dataclass(frozen=True)
class _Handle:
    index: int


class FakeNvml:
    """A `pynvml` module: pass an instance where the real module would go.

    `shadowing=True` imitates the deprecated PyPI `pynvml` <= 11.5 (no `_nvmlGetFunctionPointer`);
    `mismatch_error=False` imitates bindings older than `NVMLLibraryMismatchError`.
    """

    NVML_SUCCESS = NVML_SUCCESS
    NVML_ERROR_UNINITIALIZED = NVML_ERROR_UNINITIALIZED
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_DRIVER_NOT_LOADED = NVML_ERROR_DRIVER_NOT_LOADED
    NVML_ERROR_TIMEOUT = NVML_ERROR_TIMEOUT
    NVML_ERROR_LIBRARY_NOT_FOUND = NVML_ERROR_LIBRARY_NOT_FOUND
    NVML_ERROR_FUNCTION_NOT_FOUND = NVML_ERROR_FUNCTION_NOT_FOUND
    NVML_ERROR_GPU_IS_LOST = NVML_ERROR_GPU_IS_LOST
    NVML_ERROR_UNKNOWN = NVML_ERROR_UNKNOWN

    def __init__(
        self,
        devices: list[FakeDevice] | None = None,
        *,
        shadowing: bool = False,
        mismatch_error: bool = True,
    ) -> None:
        self.devices = [FakeDevice()] if devices is None else devices
        self.calls: Counter[str] = Counter()
        self.initialised = 0  # nvmlInit is reference counted, as in NVML
        self._failures: dict[str, list[_Failure]] = {}
        self.NVMLError: type[NVMLError] = NVMLError
        self.NVMLError_Uninitialized = NVMLError_Uninitialized
        self.NVMLError_NotSupported: type[NVMLError] = NVMLError_NotSupported
        self.NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
        self.NVMLError_Timeout = NVMLError_Timeout
        self.NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
        self.NVMLError_FunctionNotFound = NVMLError_FunctionNotFound
        self.NVMLError_GpuIsLost = NVMLError_GpuIsLost
        self.NVMLError_Unknown = NVMLError_Unknown
        if mismatch_error:
            self.NVMLLibraryMismatchError = NVMLLibraryMismatchError
        if not shadowing:
            self._nvmlGetFunctionPointer = self._function_pointer

    # -- configuration ----------------------------------------------------------------------

    def fail(
        self,
        query: str,
        error: BaseException,
        *,
        uuid: str | None = None,
        times: int | None = None,
    ) -> None:
        """Make `query` raise `error` (on one device if `uuid` is set), `times` times or always."""
        self._failures.setdefault(query, []).append(_Failure(error, uuid, times))

    # -- the NVML API -----------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self._enter("nvmlInit", None)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self._enter("nvmlShutdown", None, needs_init=True)
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:
        self._enter("nvmlDeviceGetCount", None, needs_init=True)
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._enter("nvmlDeviceGetHandleByIndex", self.devices[index].uuid, needs_init=True)
        return _Handle(index)

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        return self._device("nvmlDeviceGetUUID", handle).uuid

    def nvmlDeviceGetName(self, handle: _Handle) -> str | bytes:
        return self._device("nvmlDeviceGetName", handle).name

    def nvmlDeviceGetMemoryInfo(self, handle: _Handle, version: int | None = None) -> Any:
        device = self._device("nvmlDeviceGetMemoryInfo", handle)
        free = device.memory_total - device.memory_used
        return SimpleNamespace(total=device.memory_total, free=free, used=device.memory_used)

    def nvmlDeviceGetUtilizationRates(self, handle: _Handle) -> Any:
        device = self._device("nvmlDeviceGetUtilizationRates", handle)
        return SimpleNamespace(gpu=device.utilization, memory=0)

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        return self._device("nvmlDeviceGetPowerUsage", handle).power_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> int:
        return self._device("nvmlDeviceGetTotalEnergyConsumption", handle).energy_mj

    def nvmlDeviceGetComputeRunningProcesses(self, handle: _Handle) -> list[FakeProcess]:
        return list(self._device("nvmlDeviceGetComputeRunningProcesses", handle).compute)

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: _Handle) -> list[FakeProcess]:
        return list(self._device("nvmlDeviceGetGraphicsRunningProcesses", handle).graphics)

    def _function_pointer(self, name: str) -> None:
        raise NVMLError(NVML_ERROR_FUNCTION_NOT_FOUND)

    # -- plumbing ---------------------------------------------------------------------------

    def _device(self, query: str, handle: _Handle) -> FakeDevice:
        device = self.devices[handle.index]
        self._enter(query, device.uuid, needs_init=True)
        return device

    def _enter(self, query: str, uuid: str | None, *, needs_init: bool = False) -> None:
        self.calls[query] += 1
        if needs_init and self.initialised <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        for failure in self._failures.get(query, []):
            if failure.uuid in (None, uuid) and failure.times != 0:
                if failure.times is not None:
                    failure.times -= 1
                raise failure.error
