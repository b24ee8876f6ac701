"""CPU package energy from Linux powercap (Intel RAPL; AMD Zen through the same `intel-rapl` tree).

Source: `/sys/class/powercap/intel-rapl:N/energy_uj`, one cumulative counter in micro-joules per
package zone (`name` is `package-N`, or `package-N-die-M` on multi-die parts). Subzones
(`intel-rapl:N:M`: core, uncore, dram), the platform zone (`psys`) and the `intel-rapl-mmio` tree
are not packages and are left out, so package energies can be summed without double counting.

The package counter is socket-wide: it counts every process on the socket, not only the step's.
A step's part of it is therefore an estimate: the package energy over the step times the step's
share of the host's busy CPU time over the same interval (`attributed_energy_j`). Report it
labelled as such, next to the measured package energy and the share.

Reading `energy_uj` is root-only since Linux 5.10 (and stable backports), the fix for the power
side channel CVE-2020-8694 ("Platypus"); most VMs expose no RAPL, and container runtimes mask
`/sys/devices/virtual/powercap`. `Rapl.open` never raises: it says why in `reason` instead.

The counter wraps to 0 after `max_energy_range_uj` (typically 65 or 262 kJ: under 6 minutes at
200 W for the smaller range); `delta_uj` corrects one wrap, so sample at least once per wrap period.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")
PACKAGE_FOLDER = re.compile(r"intel-rapl:(\d+)")  # top level only: not intel-rapl:N:M, not -mmio
ROOT_ONLY = "root-only since Linux 5.10, CVE-2020-8694; see docs"
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal (guest is inside user)


@dataclass(frozen=True)
class RaplZone:
    """One package zone: its name, its folder and the value after which its counter wraps to 0."""

    name: str
    path: Path
    max_range_uj: int


@dataclass(frozen=True)
class Rapl:
    """The package zones of this host and, when they cannot be read, why (`reason`).

    Energy is readable only where `reason` is None; `zones` may list zones found but unreadable.
    """

    zones: tuple[RaplZone, ...]
    reason: str | None

    @classmethod
    def open(cls, root: Path = POWERCAP) -> Rapl:
        """The package zones under `root`, with one read of each counter to test readability."""
        zones = _find_zones(root)
        return cls(zones=zones, reason=_reason(root, zones))

    def read_uj(self) -> dict[str, int | None]:
        """Zone name -> its counter now, in micro-joules; None where it could not be read."""
        return {zone.name: _try_read_int(zone.path / "energy_uj") for zone in self.zones}


def _find_zones(root: Path = POWERCAP) -> tuple[RaplZone, ...]:
    """Package zones under `root`, by folder number, the first of each name kept."""
    by_name: dict[str, RaplZone] = {}
    for folder in _package_folders(root):
        zone = _zone(folder)
        if zone is not None:
            by_name.setdefault(zone.name, zone)
    return tuple(by_name.values())


def delta_uj(before: int, after: int, max_range_uj: int) -> int:
    """Energy between two readings of one counter, across at most one wrap-around.

    The kernel publishes `max_energy_range_uj` as the largest value the counter shows (the 32-bit
    energy status mask in energy units, converted to micro-joules: `get_max_energy_counter` in
    `drivers/powercap/intel_rapl_common.c`), and the counter then starts again at 0. Read as a
    counter over 0..max_range_uj, a reading below the previous one means one wrap:
    `(max_range_uj - before) + after + 1`. The true step from the top value to 0 is one energy
    unit (2**-ESU J, about 15 or 61 uJ), which sysfs does not publish: per wrap this formula is
    short by under one unit, a relative error below 1e-9 of the range.
    """
    if after >= before:
        return after - before
    return (max_range_uj - before) + after + 1


def energy_between(
    zones: Iterable[RaplZone],
    before: Mapping[str, int | None],
    after: Mapping[str, int | None],
) -> dict[str, float | None]:
    """Zone name -> joules between two `read_uj` results (None where a reading is missing)."""
    return {zone.name: _joules(zone, before.get(zone.name), after.get(zone.name)) for zone in zones}


def host_busy_cpu_s(stat: Path = Path("/proc/stat")) -> float | None:
    """Busy CPU seconds of the whole host since boot, from the aggregate `cpu` line of /proc/stat.

    Busy is user + nice + system + irq + softirq + steal (the kernel adds guest time to user too,
    so guest is not added again; idle and iowait are not busy), in clock ticks / SC_CLK_TCK.
    None where the file cannot be read or parsed.
    """
    try:
        ticks = _cpu_line(stat.read_text())
        return sum(ticks[i] for i in BUSY_FIELDS if i < len(ticks)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def attributed_energy_j(
    package_j: float, step_cpu_s: float, host_busy_s: float
) -> tuple[float, float] | None:
    """(share, estimate): the step's share of the host's busy CPU time over the same interval,
    clamped to [0, 1], and `package_j * share`. None when `host_busy_s <= 0`.

    A labelled estimate, not a measurement: it assumes energy follows busy CPU time.
    """
    if host_busy_s <= 0:
        return None
    share = min(max(step_cpu_s / host_busy_s, 0.0), 1.0)
    return share, package_j * share


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


def _try_read_int(path: Path) -> int | None:
    try:
        return _read_int(path)
    except (OSError, ValueError):
        return None


def _package_folders(root: Path) -> list[Path]:
    try:
        numbered = [(m, p) for p in root.iterdir() if (m := PACKAGE_FOLDER.fullmatch(p.name))]
    except OSError:
        return []
    return [path for match, path in sorted(numbered, key=lambda pair: int(pair[0].group(1)))]


def _zone(folder: Path) -> RaplZone | None:
    try:
        name = (folder / "name").read_text().strip()
        max_range_uj = _read_int(folder / "max_energy_range_uj")
    except (OSError, ValueError):
        return None
    return RaplZone(name, folder, max_range_uj) if name.startswith("package") else None


def _reason(root: Path, zones: tuple[RaplZone, ...]) -> str | None:
    if not os.path.isdir(root):
        return f"no RAPL: {root} does not exist (no powercap: a VM, a container or not Linux)"
    if not zones:
        return f"no RAPL: {root} has no intel-rapl package zone (a VM or not Intel/AMD)"
    return next((reason for zone in zones if (reason := _unreadable(zone))), None)


def _unreadable(zone: RaplZone) -> str | None:
    path = zone.path / "energy_uj"
    try:
        _read_int(path)
    except PermissionError:
        return f"RAPL not readable: permission denied on {path} ({ROOT_ONLY})"
    except OSError as error:
        return f"RAPL not readable: {path}: {error.strerror or type(error).__name__}"
    except ValueError:
        return f"RAPL not readable: {path} does not hold an integer"
    return None


def _joules(zone: RaplZone, before: int | None, after: int | None) -> float | None:
    if before is None or after is None:
        return None
    return delta_uj(before, after, zone.max_range_uj) / 1e6


def _cpu_line(text: str) -> list[int]:
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            return [int(field) for field in fields[1:]]
    raise ValueError("no aggregate cpu line")
