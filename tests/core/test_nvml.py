"""The NVML backend reads the right figures, remembers what a GPU cannot do, and never raises."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from fake_nvml import (
    NVML_ERROR_NOT_SUPPORTED,
    FakeDevice,
    FakeNvml,
    FakeProcess,
    NVMLError,
    NVMLError_DriverNotLoaded,
    NVMLError_LibraryNotFound,
    NVMLError_NotSupported,
    NVMLError_Timeout,
    NVMLLibraryMismatchError,
)

from yprov_workflows.usage.nvml import GpuDevice, Gpus, GpuSample, energy_delta_mj

UUID_A = "GPU-aaaaaaaa-0000-0000-0000-000000000001"
UUID_B = "GPU-bbbbbbbb-0000-0000-0000-000000000002"
UTILIZATION = "nvmlDeviceGetUtilizationRates"
POWER = "nvmlDeviceGetPowerUsage"
ENERGY = "nvmlDeviceGetTotalEnergyConsumption"
COMPUTE = "nvmlDeviceGetComputeRunningProcesses"
GRAPHICS = "nvmlDeviceGetGraphicsRunningProcesses"


def two_gpus() -> FakeNvml:
    return FakeNvml(
        [
            FakeDevice(UUID_A, "NVIDIA H200", 150_000, 40_000, 87, 416_250, 5_000_000),
            FakeDevice(UUID_B, b"NVIDIA H100 80GB HBM3", 80_000, 1_000, 0, 71_500, 9_000),
        ]
    )


@pytest.fixture
def nvml() -> FakeNvml:
    return two_gpus()


# -- happy path ------------------------------------------------------------------------------


def test_open_lists_devices_by_uuid_and_decodes_bytes_names(nvml: FakeNvml) -> None:
    gpus = Gpus.open(nvml)
    assert gpus.reason is None
    assert gpus.devices == (
        GpuDevice(0, UUID_A, "NVIDIA H200", 150_000),
        GpuDevice(1, UUID_B, "NVIDIA H100 80GB HBM3", 80_000),
    )
    assert nvml.initialised == 1


def test_sample_reads_utilisation_memory_and_power_in_watts(nvml: FakeNvml) -> None:
    samples = Gpus.open(nvml).sample()
    assert samples == [
        GpuSample(UUID_A, 87.0, 40_000, 416.25, {}),
        GpuSample(UUID_B, 0.0, 1_000, 71.5, {}),
    ]
    assert isinstance(samples[0].utilization_pct, float)


def test_sample_follows_the_device(nvml: FakeNvml) -> None:
    gpus = Gpus.open(nvml)
    nvml.devices[0].utilization, nvml.devices[0].power_mw = 12, 90_000
    assert gpus.sample()[0].utilization_pct == 12.0
    assert gpus.sample()[0].power_w == 90.0


def test_energy_is_read_per_uuid_in_millijoules(nvml: FakeNvml) -> None:
    gpus = Gpus.open(nvml)
    before = gpus.energy_mj()
    nvml.devices[0].energy_mj += 5_763_000
    after = gpus.energy_mj()
    assert before == {UUID_A: 5_000_000, UUID_B: 9_000}
    assert energy_delta_mj(before[UUID_A], after[UUID_A]) == 5_763_000
    assert energy_delta_mj(before[UUID_B], after[UUID_B]) == 0


def test_energy_is_not_read_by_sample(nvml: FakeNvml) -> None:
    Gpus.open(nvml).sample()
    assert nvml.calls[ENERGY] == 0


# -- processes -------------------------------------------------------------------------------


def test_process_memory_merges_compute_and_graphics_by_pid(nvml: FakeNvml) -> None:
    nvml.devices[0].compute = [FakeProcess(100, 4_000), FakeProcess(200, 7_000)]
    nvml.devices[0].graphics = [FakeProcess(300, 50)]
    nvml.devices[1].compute = [FakeProcess(100, 1_000)]
    by_uuid = {s.uuid: s.process_memory_bytes for s in Gpus.open(nvml).sample()}
    assert by_uuid == {UUID_A: {100: 4_000, 200: 7_000, 300: 50}, UUID_B: {100: 1_000}}


def test_a_process_in_both_lists_is_counted_once(nvml: FakeNvml) -> None:
    """A CUDA + OpenGL process (nvidia-smi type C+G) is listed by both queries with its memory."""
    nvml.devices[0].compute = [FakeProcess(100, 4_000)]
    nvml.devices[0].graphics = [FakeProcess(100, 4_000)]
    assert Gpus.open(nvml).sample()[0].process_memory_bytes == {100: 4_000}


def test_process_without_memory_figure_is_skipped(nvml: FakeNvml) -> None:
    nvml.devices[0].compute = [FakeProcess(100, None), FakeProcess(200, 3_000)]
    assert Gpus.open(nvml).sample()[0].process_memory_bytes == {200: 3_000}


def test_failing_process_list_keeps_the_other_one(nvml: FakeNvml) -> None:
    nvml.devices[0].compute = [FakeProcess(100, 4_000)]
    nvml.devices[0].graphics = [FakeProcess(300, 50)]
    nvml.fail(GRAPHICS, NVMLError(NVML_ERROR_NOT_SUPPORTED))
    assert Gpus.open(nvml).sample()[0].process_memory_bytes == {100: 4_000}


def test_library_mismatch_on_process_query_disables_it(nvml: FakeNvml) -> None:
    """nvidia-ml-py raises NVMLLibraryMismatchError from unversioned functions on old drivers."""
    nvml.fail(COMPUTE, NVMLLibraryMismatchError("use a versioned function"))
    gpus = Gpus.open(nvml)
    gpus.sample()
    gpus.sample()
    assert nvml.calls[COMPUTE] == 2  # once per device, never again
    assert gpus.unsupported() == {UUID_A: [COMPUTE], UUID_B: [COMPUTE]}


# -- unsupported and transient failures ------------------------------------------------------


def test_unsupported_query_is_remembered_and_not_called_again(nvml: FakeNvml) -> None:
    """MIG: device utilisation is not supported."""
    nvml.fail(UTILIZATION, NVMLError_NotSupported(), uuid=UUID_A)
    gpus = Gpus.open(nvml)
    first, second = gpus.sample(), gpus.sample()
    assert [s.utilization_pct for s in first + second] == [None, 0.0, None, 0.0]
    assert first[0].power_w == 416.25
    assert nvml.calls[UTILIZATION] == 3  # A once, B twice
    assert gpus.unsupported() == {UUID_A: [UTILIZATION]}


def test_not_supported_is_recognised_by_its_code() -> None:
    """Older bindings have no NVMLError_NotSupported class: the code says it."""
    nvml = two_gpus()
    del nvml.NVMLError_NotSupported
    error = NVMLError(NVML_ERROR_NOT_SUPPORTED)
    assert error.value == NVML_ERROR_NOT_SUPPORTED
    nvml.fail(POWER, error, uuid=UUID_B)
    gpus = Gpus.open(nvml)
    gpus.sample()
    assert gpus.sample()[1].power_w is None
    assert nvml.calls[POWER] == 3
    assert gpus.unsupported() == {UUID_B: [POWER]}


def test_unsupported_energy_is_none_and_reported(nvml: FakeNvml) -> None:
    nvml.fail(ENERGY, NVMLError_NotSupported(), uuid=UUID_B)
    gpus = Gpus.open(nvml)
    assert gpus.energy_mj() == {UUID_A: 5_000_000, UUID_B: None}
    assert gpus.energy_mj() == {UUID_A: 5_000_000, UUID_B: None}
    assert nvml.calls[ENERGY] == 3
    assert gpus.unsupported() == {UUID_B: [ENERGY]}


def test_transient_error_gives_none_once_then_the_value_again(nvml: FakeNvml) -> None:
    nvml.fail(POWER, NVMLError_Timeout(), uuid=UUID_A, times=1)
    gpus = Gpus.open(nvml)
    assert [s.power_w for s in gpus.sample()] == [None, 71.5]
    assert [s.power_w for s in gpus.sample()] == [416.25, 71.5]
    assert gpus.unsupported() == {}


def test_transient_energy_error_gives_none_once(nvml: FakeNvml) -> None:
    nvml.fail(ENERGY, NVMLError_Timeout(), uuid=UUID_A, times=1)
    gpus = Gpus.open(nvml)
    assert gpus.energy_mj()[UUID_A] is None
    assert gpus.energy_mj()[UUID_A] == 5_000_000


def test_unexpected_exception_disables_the_query_with_a_warning(
    nvml: FakeNvml, caplog: pytest.LogCaptureFixture
) -> None:
    nvml.fail(UTILIZATION, RuntimeError("binding bug"), uuid=UUID_B)
    gpus = Gpus.open(nvml)
    assert [s.utilization_pct for s in gpus.sample()] == [87.0, None]
    gpus.sample()
    assert nvml.calls[UTILIZATION] == 3
    assert gpus.unsupported() == {UUID_B: [UTILIZATION]}
    assert "binding bug" in caplog.text


def test_unsupported_returns_a_copy(nvml: FakeNvml) -> None:
    nvml.fail(UTILIZATION, NVMLError_NotSupported(), uuid=UUID_A)
    gpus = Gpus.open(nvml)
    gpus.sample()
    gpus.unsupported()[UUID_A].append("changed")
    assert gpus.unsupported() == {UUID_A: [UTILIZATION]}


# -- energy counter --------------------------------------------------------------------------


def test_energy_counter_going_back_gives_no_delta(nvml: FakeNvml) -> None:
    """Driver reload or GPU reset restarts the counter: the caller falls back to power x time."""
    gpus = Gpus.open(nvml)
    before = gpus.energy_mj()[UUID_A]
    nvml.devices[0].energy_mj = 1_200
    assert energy_delta_mj(before, gpus.energy_mj()[UUID_A]) is None


@pytest.mark.parametrize(
    ("before", "after", "delta"),
    [
        (10, 25, 15),
        (7, 7, 0),
        (25, 10, None),
        (None, 10, None),
        (10, None, None),
        (None, None, None),
    ],
)
def test_energy_delta(before: int | None, after: int | None, delta: int | None) -> None:
    assert energy_delta_mj(before, after) == delta


# -- no GPU figures, and why -----------------------------------------------------------------


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    gpus = Gpus.open()
    assert gpus.reason == "no NVIDIA GPU library: pip install nvidia-ml-py (the gpu extra)"
    assert gpus.devices == ()
    assert gpus.sample() == []
    assert gpus.energy_mj() == {}


def test_import_warning_of_deprecated_pynvml_is_silenced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """PyPI `pynvml` 13 warns on import; this stand-in also shadows NVIDIA's module."""
    (tmp_path / "pynvml.py").write_text(
        "import warnings\nwarnings.warn('pynvml is deprecated', FutureWarning)\n"
    )
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.delitem(sys.modules, "pynvml")  # the import's module is removed at teardown
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gpus = Gpus.open()
    assert gpus.reason is not None
    assert "pip uninstall pynvml && pip install nvidia-ml-py" in gpus.reason


def test_shadowing_pynvml_names_the_fix() -> None:
    nvml = FakeNvml(shadowing=True)
    gpus = Gpus.open(nvml)
    assert gpus.reason == (
        "the deprecated 'pynvml' package shadows NVIDIA's nvidia-ml-py: "
        "pip uninstall pynvml && pip install nvidia-ml-py"
    )
    assert nvml.calls["nvmlInit"] == 0
    assert gpus.devices == ()


def test_library_not_found_says_no_driver() -> None:
    nvml = two_gpus()
    nvml.fail("nvmlInit", NVMLError_LibraryNotFound())
    gpus = Gpus.open(nvml)
    assert gpus.reason == "no NVIDIA driver: NVML Shared Library Not Found"
    assert gpus.devices == ()
    assert gpus.sample() == []
    assert nvml.calls["nvmlDeviceGetCount"] == 0


def test_driver_not_loaded_says_no_driver() -> None:
    nvml = two_gpus()
    nvml.fail("nvmlInit", NVMLError_DriverNotLoaded())
    assert Gpus.open(nvml).reason == "no NVIDIA driver: Driver Not Loaded"


def test_other_init_error_is_named() -> None:
    nvml = two_gpus()
    nvml.fail("nvmlInit", NVMLError(4))  # no subclass in the fake: code and message kept
    assert Gpus.open(nvml).reason == "NVML failed to start: NVML Error with code 4"


def test_library_mismatch_at_init() -> None:
    nvml = two_gpus()
    nvml.fail("nvmlInit", NVMLLibraryMismatchError("pyNVML and NVML lib versions differ"))
    gpus = Gpus.open(nvml)
    assert gpus.reason == "NVML failed to start: pyNVML and NVML lib versions differ"
    assert gpus.devices == ()


def test_any_init_exception_is_caught_even_without_mismatch_class() -> None:
    nvml = FakeNvml(mismatch_error=False)
    nvml.fail("nvmlInit", OSError("libnvidia-ml.so.1: cannot open"))
    assert Gpus.open(nvml).reason == "NVML failed to start: OSError: libnvidia-ml.so.1: cannot open"


def test_zero_devices_shuts_nvml_down() -> None:
    nvml = FakeNvml([])
    gpus = Gpus.open(nvml)
    assert gpus.reason == "no NVIDIA GPU found"
    assert gpus.devices == ()
    assert nvml.initialised == 0


def test_count_failure_is_named_and_shuts_down() -> None:
    nvml = two_gpus()
    nvml.fail("nvmlDeviceGetCount", NVMLError_Timeout())
    gpus = Gpus.open(nvml)
    assert gpus.reason == "NVML could not count GPUs: Timeout"
    assert nvml.initialised == 0


def test_device_without_uuid_is_skipped(nvml: FakeNvml) -> None:
    nvml.fail("nvmlDeviceGetUUID", NVMLError(15), uuid=UUID_A)
    gpus = Gpus.open(nvml)
    assert [d.uuid for d in gpus.devices] == [UUID_B]
    assert [d.index for d in gpus.devices] == [1]
    assert [s.uuid for s in gpus.sample()] == [UUID_B]


def test_no_device_answering_is_a_reason() -> None:
    nvml = two_gpus()
    nvml.fail("nvmlDeviceGetHandleByIndex", NVMLError(15))
    gpus = Gpus.open(nvml)
    assert gpus.reason == "no NVIDIA GPU answered: 2 listed"
    assert nvml.initialised == 0


def test_device_without_name_or_memory_is_kept(nvml: FakeNvml) -> None:
    nvml.fail("nvmlDeviceGetName", NVMLError_NotSupported(), uuid=UUID_A)
    nvml.fail("nvmlDeviceGetMemoryInfo", NVMLError_NotSupported(), uuid=UUID_A, times=1)
    assert Gpus.open(nvml).devices[0] == GpuDevice(0, UUID_A, "unknown GPU", None)


def test_open_keeps_nothing_between_calls() -> None:
    first, second = two_gpus(), FakeNvml([])
    first.fail(UTILIZATION, NVMLError_NotSupported())
    Gpus.open(first).sample()
    gpus = Gpus.open(two_gpus())
    gpus.sample()
    assert gpus.unsupported() == {}
    assert Gpus.open(second).reason == "no NVIDIA GPU found"


# -- close -----------------------------------------------------------------------------------


def test_close_shuts_down_once(nvml: FakeNvml) -> None:
    gpus = Gpus.open(nvml)
    gpus.close()
    gpus.close()
    assert nvml.calls["nvmlShutdown"] == 1
    assert nvml.initialised == 0


def test_closed_gpus_query_nothing(nvml: FakeNvml) -> None:
    gpus = Gpus.open(nvml)
    gpus.close()
    assert gpus.sample() == []
    assert gpus.energy_mj() == {UUID_A: None, UUID_B: None}
    assert nvml.calls[UTILIZATION] + nvml.calls[ENERGY] == 0
    assert gpus.devices[0].uuid == UUID_A


def test_close_survives_a_failing_shutdown(nvml: FakeNvml) -> None:
    nvml.fail("nvmlShutdown", NVMLError(NVML_ERROR_NOT_SUPPORTED))
    gpus = Gpus.open(nvml)
    gpus.close()
    gpus.close()
    assert nvml.calls["nvmlShutdown"] == 1


def test_close_without_nvml_does_nothing() -> None:
    gpus = Gpus.open(FakeNvml(shadowing=True))
    gpus.close()
    assert gpus.reason is not None
