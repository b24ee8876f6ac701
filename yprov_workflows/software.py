"""The software environment of a run, captured once at its start: `capture(...) -> Software`.

What it records (docs/prov-model.md, "Software environment"): Python's version and
implementation, the OS, its release and kernel, the CPU model and count, total memory, the GPU
models and driver (NVML, when present), every installed distribution (written as
`environment/packages.txt` in the run folder, one `name==version` a line, and recorded as a file
with its hash), the versions of the engine and of the distributions the workflow file imports
directly, and the git commit and dirty state of the workflow's repository.

Cost is bounded and nothing here raises: `git` (a short timeout) and NVML run in threads while
the rest is read; the installed distributions are read from the names of their metadata folders
(`<name>-<version>.dist-info`), not from their metadata files (0.5 ms for 200 distributions;
`importlib.metadata` reads every METADATA file: 140 ms). A group that cannot be read is missing,
with the reason in `Software.missing`. Measured on the 2-core VM (195 distributions, a git
repository, no GPU library): 4 ms in all (benchmarks/bench_query.py prints it); NVML's start,
where a GPU library is installed, adds 10-12 ms in its thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from yprov_workflows.records import FileRecord, Software

PACKAGES_FILE = "environment/packages.txt"
"""Where the list of installed distributions goes, relative to the run folder."""
GIT_TIMEOUT_S = 2.0
_T = TypeVar("_T")
_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
_ALIASES = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "google": "protobuf",
    "yprov_prefect": "yprov-workflows",
    "snakemake_executor_plugin_yprov": "yprov-workflows",
    "yprov_workflows": "yprov-workflows",
}
"""Import names whose distribution has another name (where no top_level.txt says so)."""


@dataclass(frozen=True)
class _Git:
    commit: str | None = None
    dirty: bool | None = None
    missing: str | None = "git did not answer in time"


@dataclass(frozen=True)
class _Gpus:
    names: tuple[str, ...] = ()
    driver: str | None = None
    missing: str | None = "NVML did not answer in time"


class _Reader(threading.Thread, Generic[_T]):
    """Reads one slow fact in the background; `result` is `default` if it failed or is late."""

    def __init__(self, read: Callable[[], _T], default: _T) -> None:
        super().__init__(name="yprov-software", daemon=True)
        self._read = read
        self._default = default
        self._value = default
        self.start()

    def run(self) -> None:
        self._value = _guarded(self._read, self._default)

    def result(self, timeout: float) -> _T:
        self.join(timeout)
        return self._default if self.is_alive() else self._value


def capture(
    workdir: str | None,
    run_dir: Path | None,
    engine: str | None = None,
    workflow_path: str | None = None,
) -> Software:
    """The environment of a run whose folder is `run_dir` (where the package list is written;
    None: not written). Never raises; takes a few tens of milliseconds."""
    git = _Reader(lambda: _read_git(_repository_folder(workdir, workflow_path)), _Git())
    gpus = _Reader(_read_gpus, _Gpus())
    missing: dict[str, str] = {}
    nothing: dict[str, str] = {}
    packages = _guarded(_installed, nothing)
    listing = _write_packages(run_dir, packages, missing)
    versions = _guarded(lambda: _versions(packages, engine, workflow_path), nothing)
    machine = _machine(missing)
    found_git, found_gpus = git.result(GIT_TIMEOUT_S + 1), gpus.result(GIT_TIMEOUT_S)
    for group, reason in (("git", found_git.missing), ("gpu", found_gpus.missing)):
        if reason is not None:
            missing[group] = reason
    return dataclasses.replace(
        machine,
        gpus=found_gpus.names,
        gpu_driver=found_gpus.driver,
        packages=listing,
        package_count=len(packages),
        versions=versions,
        git_commit=found_git.commit,
        git_dirty=found_git.dirty,
        missing=missing,
    )


def _guarded(read: Callable[[], _T], default: _T) -> _T:
    try:
        return read()
    except Exception:  # an environment fact we cannot read is missing, never an error
        return default


# The machine


def _machine(missing: dict[str, str]) -> Software:
    release = _guarded(lambda: platform.freedesktop_os_release().get("PRETTY_NAME"), None)
    memory = _guarded(lambda: os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), None)
    cpu_model = _guarded(_cpu_model, None)
    if cpu_model is None:
        missing["cpu_model"] = "no model name in /proc/cpuinfo"
    return Software(
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        os=platform.system(),
        kernel=platform.release(),
        machine=platform.machine(),
        os_release=release,
        cpu_model=cpu_model,
        cpu_count=os.cpu_count(),
        memory_total_bytes=memory,
    )


def _cpu_model() -> str | None:
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Processor", "cpu model"):
                return value.strip() or None
    return None


# GPUs (NVML)


def _read_gpus() -> _Gpus:
    from yprov_workflows.usage.nvml import Gpus

    gpus = Gpus.open()
    try:
        names = tuple(device.name for device in gpus.devices)
        return _Gpus(names, gpus.driver_version(), gpus.reason)
    finally:
        gpus.close()


# Git


def _repository_folder(workdir: str | None, workflow_path: str | None) -> str | None:
    """The folder whose repository is the workflow's: the workflow file's, else the workdir."""
    if workflow_path:
        folder = os.path.dirname(os.path.join(workdir or "", workflow_path))
        if os.path.isdir(folder or "."):
            return folder or "."
    return workdir


def _read_git(folder: str | None) -> _Git:
    """Commit and dirty state (tracked files changed) from one `git status` call."""
    if folder is None:
        return _Git(missing="no working directory known")
    command = ["git", "-C", folder, "status", "--porcelain=v2", "--branch", "--untracked-files=no"]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return _Git(missing=f"git could not run: {type(exc).__name__}: {exc}")
    if result.returncode != 0:
        return _Git(missing=_git_problem(result.stderr))
    return _parse_status(result.stdout)


def _git_problem(stderr: str) -> str:
    text = " ".join(stderr.split())
    if "not a git repository" in text:
        return "not in a git repository"
    return f"git status failed: {text[:200]}" if text else "git status failed"


def _parse_status(text: str) -> _Git:
    lines = text.splitlines()
    commit = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if commit is None or commit == "(initial)":
        return _Git(missing="the repository has no commit yet")
    return _Git(commit, any(not line.startswith("#") for line in lines), None)


# Installed distributions


def _installed() -> dict[str, str]:
    """Normalised distribution name -> version, as import would find them (first on sys.path
    wins), from the names of their `.dist-info` / `.egg-info` folders. Listed again only when
    `sys.path` or one of its folders changed (an install or removal changes the folder's
    modification time): a process that runs many flows (a Prefect server's worker, a notebook)
    lists its hundreds of distributions once, not at every flow's start."""
    folders = tuple(dict.fromkeys(sys.path))
    where = os.getcwd() if "" in folders else ""  # `""` is the working folder
    modified = tuple(map(_modified_ns, folders))
    marks = (where, folders, modified)
    cached = _INSTALLED.get(marks)
    if cached is not None:
        return dict(cached)
    found: dict[str, str] = {}
    for folder in folders:
        for name, version in _listed(folder):
            found.setdefault(name, version)
    listed = dict(sorted(found.items()))
    _INSTALLED.clear()  # one entry: the listing for the current `sys.path`
    if max(modified, default=0) < time.time_ns() - _RACY_NS:
        _INSTALLED[marks] = listed  # else a change within the same clock tick could hide
    return dict(listed)


_INSTALLED: dict[tuple[str, tuple[str, ...], tuple[int, ...]], dict[str, str]] = {}
_RACY_NS = 2_000_000_000  # a folder changed this recently may change again unseen (2 s mtimes)


def _modified_ns(folder: str) -> int:
    try:
        return os.stat(folder or ".").st_mtime_ns
    except OSError:  # a folder that is gone (or a zip file's path inside it)
        return -1


def _listed(folder: str) -> list[tuple[str, str]]:
    try:
        names = os.listdir(folder or ".")
    except OSError:  # a zip file or a folder that is gone
        return []
    return [parsed for parsed in map(_parse_info_name, sorted(names)) if parsed is not None]


def _parse_info_name(name: str) -> tuple[str, str] | None:
    """`pyyaml-6.0.1.dist-info` -> (`pyyaml`, `6.0.1`); `x-1.0-py3.11.egg-info` too."""
    for suffix in (".dist-info", ".egg-info"):
        if name.endswith(suffix):
            parts = name[: -len(suffix)].split("-")
            if len(parts) >= 2 and parts[0] and parts[1]:
                return normalized(parts[0]), parts[1]
    return None


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them: `PyYAML` -> `pyyaml`, `a_b` -> `a-b`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _write_packages(
    run_dir: Path | None, packages: dict[str, str], missing: dict[str, str]
) -> FileRecord | None:
    """`environment/packages.txt` in the run folder, as a file record with its hash."""
    if run_dir is None:
        return None
    data = "".join(f"{name}=={version}\n" for name, version in packages.items()).encode()
    path = run_dir / PACKAGES_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        missing["packages"] = f"cannot write {PACKAGES_FILE}: {exc.strerror or exc}"
        return None
    return FileRecord(PACKAGES_FILE, hashlib.sha256(data).hexdigest(), len(data))


def _versions(
    packages: dict[str, str], engine: str | None, workflow_path: str | None
) -> dict[str, str]:
    """The engine's version and those of the distributions the workflow file imports."""
    wanted: list[str | None] = [engine]
    wanted += [_distribution(module, packages) for module in _imports(workflow_path)]
    return {name: packages[name] for name in dict.fromkeys(wanted) if name and name in packages}


def _imports(workflow_path: str | None) -> list[str]:
    """Top-level modules the workflow file imports (not the standard library's)."""
    if not workflow_path:
        return []
    text = _guarded(lambda: Path(workflow_path).read_text(encoding="utf-8", errors="replace"), "")
    modules = dict.fromkeys(_IMPORT.findall(text))
    return [m for m in modules if m not in sys.stdlib_module_names and m != "__future__"]


def _distribution(module: str, packages: dict[str, str]) -> str | None:
    for candidate in (normalized(module), _ALIASES.get(module)):
        if candidate and candidate in packages:
            return candidate
    return None
