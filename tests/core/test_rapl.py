"""RAPL package energy, on fake powercap trees (no machine here has readable RAPL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yprov_workflows.usage import rapl
from yprov_workflows.usage.rapl import (
    Rapl,
    RaplZone,
    attributed_energy_j,
    delta_uj,
    energy_between,
    host_busy_cpu_s,
)

MAX = 262143328850  # a real package's max_energy_range_uj (0xffffffff units of 2**-14 J)


def make_zone(folder: Path, name: str, energy: str = "1000", max_range: int = MAX) -> Path:
    folder.mkdir(parents=True)
    (folder / "name").write_text(f"{name}\n")
    (folder / "energy_uj").write_text(f"{energy}\n")
    (folder / "max_energy_range_uj").write_text(f"{max_range}\n")
    return folder


@pytest.fixture
def powercap(tmp_path: Path) -> Path:
    """A two-socket host: packages, a core subzone, a psys zone and an MMIO zone."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control type folder, not a zone
    make_zone(root / "intel-rapl:0", "package-0", "123456789")
    make_zone(root / "intel-rapl:0:0", "core", "5")
    make_zone(root / "intel-rapl:1", "package-1", "987654321", max_range=65532610987)
    make_zone(root / "intel-rapl:2", "psys", "42")
    make_zone(root / "intel-rapl-mmio:0", "package-0", "7")
    return root


def test_only_package_zones_are_found(powercap: Path) -> None:
    found = Rapl.open(powercap)
    assert found.reason is None
    assert found.zones == (
        RaplZone("package-0", powercap / "intel-rapl:0", MAX),
        RaplZone("package-1", powercap / "intel-rapl:1", 65532610987),
    )


def test_zones_are_ordered_by_number_and_deduplicated_by_name(tmp_path: Path) -> None:
    make_zone(tmp_path / "intel-rapl:10", "package-1")
    make_zone(tmp_path / "intel-rapl:2", "package-0")
    make_zone(tmp_path / "intel-rapl:3", "package-0")
    found = Rapl.open(tmp_path)
    assert [(z.name, z.path.name) for z in found.zones] == [
        ("package-0", "intel-rapl:2"),
        ("package-1", "intel-rapl:10"),
    ]


def test_read_gives_each_package_counter(powercap: Path) -> None:
    found = Rapl.open(powercap)
    assert found.read_uj() == {"package-0": 123456789, "package-1": 987654321}
    (powercap / "intel-rapl:0" / "energy_uj").write_text("123456790\n")
    assert found.read_uj()["package-0"] == 123456790


def test_delta_without_and_across_a_wrap() -> None:
    assert delta_uj(100, 350, MAX) == 250
    assert delta_uj(100, 100, MAX) == 0
    # MAX - 10 -> MAX is 10, MAX -> 0 is 1 (values 0..MAX), 0 -> 5 is 5.
    assert delta_uj(MAX - 10, 5, MAX) == 16
    assert delta_uj(MAX, 0, MAX) == 1


def test_energy_between_in_joules_with_a_missing_reading(powercap: Path) -> None:
    zones = Rapl.open(powercap).zones
    before: dict[str, int | None] = {"package-0": MAX - 999_999, "package-1": None}
    after: dict[str, int | None] = {"package-0": 2_000_000, "package-1": 5}
    assert energy_between(zones, before, after) == {"package-0": 3.0, "package-1": None}
    assert energy_between(zones, {}, after) == {"package-0": None, "package-1": None}


def test_no_powercap_folder(tmp_path: Path) -> None:
    found = Rapl.open(tmp_path / "missing")
    assert found.zones == ()
    assert found.reason is not None
    assert found.reason.startswith("no RAPL:")
    assert "does not exist" in found.reason
    assert found.read_uj() == {}


def test_powercap_without_intel_rapl(tmp_path: Path) -> None:
    make_zone(tmp_path / "intel-rapl-mmio:0", "package-0")
    make_zone(tmp_path / "intel-rapl:0", "psys")
    make_zone(tmp_path / "dtpm:0", "soc")
    found = Rapl.open(tmp_path)
    assert found.zones == ()
    assert found.reason == (
        f"no RAPL: {tmp_path} has no intel-rapl package zone (a VM or not Intel/AMD)"
    )


def test_masked_zone_folder_counts_as_no_zone(tmp_path: Path) -> None:
    """Container runtimes mask /sys/devices/virtual/powercap: the zone folder is empty."""
    (tmp_path / "intel-rapl:0").mkdir()
    found = Rapl.open(tmp_path)
    assert found.zones == ()
    assert found.reason is not None
    assert "no intel-rapl package zone" in found.reason


@pytest.fixture
def denied(powercap: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """package-1's energy_uj is root-only; as root chmod stops nothing: fail the read instead."""
    energy = powercap / "intel-rapl:1" / "energy_uj"
    energy.chmod(0)
    if os.access(energy, os.R_OK):  # root (CAP_DAC_OVERRIDE)
        real = rapl._read_int

        def read_int(path: Path) -> int:
            if path == energy:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(rapl, "_read_int", read_int)
    return energy


def test_unreadable_energy_gives_a_permission_reason(denied: Path) -> None:
    found = Rapl.open(denied.parent.parent)
    assert found.reason == (
        f"RAPL not readable: permission denied on {denied} "
        "(root-only since Linux 5.10, CVE-2020-8694; see docs)"
    )
    assert found.read_uj() == {"package-0": 123456789, "package-1": None}


def test_energy_that_is_a_folder_is_unreadable_not_an_exception(powercap: Path) -> None:
    energy = powercap / "intel-rapl:0" / "energy_uj"
    energy.unlink()
    energy.mkdir()
    found = Rapl.open(powercap)
    assert found.reason is not None
    assert found.reason.startswith(f"RAPL not readable: {energy}: ")
    assert found.read_uj() == {"package-0": None, "package-1": 987654321}


def test_dangling_energy_link_is_unreadable(powercap: Path) -> None:
    energy = powercap / "intel-rapl:1" / "energy_uj"
    energy.unlink()
    energy.symlink_to(powercap / "nowhere")
    found = Rapl.open(powercap)
    assert found.reason is not None
    assert str(energy) in found.reason
    assert found.read_uj()["package-1"] is None


def test_garbage_content_reads_as_none(powercap: Path) -> None:
    energy = powercap / "intel-rapl:0" / "energy_uj"
    energy.write_text("not a number\n")
    found = Rapl.open(powercap)
    assert found.reason == f"RAPL not readable: {energy} does not hold an integer"
    assert found.read_uj() == {"package-0": None, "package-1": 987654321}


def test_garbage_after_open_reads_as_none(powercap: Path) -> None:
    found = Rapl.open(powercap)
    (powercap / "intel-rapl:1" / "energy_uj").write_bytes(b"\xff\xfe")
    assert found.read_uj() == {"package-0": 123456789, "package-1": None}


def test_garbage_max_range_drops_the_zone(powercap: Path) -> None:
    (powercap / "intel-rapl:1" / "max_energy_range_uj").write_text("")
    assert [zone.name for zone in Rapl.open(powercap).zones] == ["package-0"]


def test_host_busy_cpu_on_a_fake_stat(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  1000 20 300 9000 400 5 6 7 800 9\n"
        "cpu0 500 10 150 4500 200 2 3 3 400 4\n"
        "intr 123 0 0\n"
    )
    ticks = 1000 + 20 + 300 + 5 + 6 + 7  # not idle 9000, iowait 400, guest 800, guest_nice 9
    assert host_busy_cpu_s(stat) == ticks / os.sysconf("SC_CLK_TCK")


def test_host_busy_cpu_on_an_old_kernel_line(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 1000\n")  # before iowait, irq, softirq and steal existed
    assert host_busy_cpu_s(stat) == 150 / os.sysconf("SC_CLK_TCK")


def test_host_busy_cpu_unreadable_or_garbage(tmp_path: Path) -> None:
    assert host_busy_cpu_s(tmp_path / "missing") is None
    stat = tmp_path / "stat"
    stat.write_text("cpu0 1 2 3 4\n")
    assert host_busy_cpu_s(stat) is None
    stat.write_text("cpu  1 x 3 4\n")
    assert host_busy_cpu_s(stat) is None


def test_host_busy_cpu_on_this_host() -> None:
    busy = host_busy_cpu_s()
    assert isinstance(busy, float)
    assert busy > 0


def test_attributed_energy_share_and_estimate() -> None:
    assert attributed_energy_j(100.0, 2.0, 8.0) == (0.25, 25.0)
    assert attributed_energy_j(100.0, 12.0, 8.0) == (1.0, 100.0)  # clamped above
    assert attributed_energy_j(100.0, -1.0, 8.0) == (0.0, 0.0)  # clamped below
    assert attributed_energy_j(100.0, 0.0, 8.0) == (0.0, 0.0)


def test_attributed_energy_without_busy_time() -> None:
    assert attributed_energy_j(100.0, 1.0, 0.0) is None
    assert attributed_energy_j(100.0, 1.0, -3.0) is None
