"""Process-tree gauges from /proc, checked against psutil on real process trees."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from yprov_workflows.usage.proctree import (
    CLOCK_TICKS,
    PAGE_SIZE,
    TreeSample,
    cpu_percent,
    sample_tree,
    tree_pids,
)

MIB = 2**20
HOG = (
    "import time; b = bytearray(50 * 2**20); b[::4096] = b'x' * (len(b) // 4096); "
    "print('ready', flush=True); time.sleep(5)"
)
# A root with three `sleep` children and, forked from a second thread (so listed in that thread's
# children file, not the main thread's), a child holding 50 MiB.
ROOT = f"""
import subprocess, sys, threading
def hog():
    child = subprocess.Popen([sys.executable, "-c", {HOG!r}], stdout=subprocess.PIPE)
    child.stdout.readline()
    print("ready", flush=True)
    child.wait()
sleeps = [subprocess.Popen(["sleep", "5"]) for _ in range(3)]
threading.Thread(target=hog).start()
for sleep in sleeps:
    sleep.wait()
"""
BUSY = "while True: pass"
ODD_NAME = b"a) b (c) d"
# Renamed, then reaps a child: its stat then has nonzero cutime and cminflt (thousands of faults),
# so reading the fields from the wrong ')' gives a wrong CPU time.
RENAMED = (
    f"import ctypes, subprocess, sys, time; ctypes.CDLL(None).prctl(15, {ODD_NAME!r}, 0, 0, 0); "
    "subprocess.run([sys.executable, '-c', 'pass']); print('ready', flush=True); time.sleep(5)"
)


@contextlib.contextmanager
def spawned(code: str, ready: bool = True) -> Iterator[subprocess.Popen[str]]:
    """A Python child in its own process group, killed with all its descendants at the end."""
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        if ready:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        yield child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


@pytest.fixture
def tree() -> Iterator[int]:
    with spawned(ROOT) as root:
        yield root.pid


def psutil_tree(root: int) -> list[psutil.Process]:
    top = psutil.Process(root)
    return [top, *top.children(recursive=True)]


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_tree_pids_finds_exactly_the_tree(tree: int) -> None:
    found = tree_pids([tree])
    expected = {process.pid for process in psutil_tree(tree)}
    assert found[0] == tree
    assert len(found) == len(set(found)) == 5
    assert set(found) == expected


def test_sample_matches_psutil(tree: int) -> None:
    sample = sample_tree([tree])
    processes = psutil_tree(tree)
    assert sample is not None and sample.processes == 5
    assert set(sample.pids) == {process.pid for process in processes}
    rss = sum(process.memory_info().rss for process in processes)
    assert sample.rss_bytes >= 50 * MIB
    assert abs(sample.rss_bytes - rss) <= 0.1 * rss
    times = [process.cpu_times() for process in processes]
    cpu = sum(t.user + t.system + t.children_user + t.children_system for t in times)
    assert sample.cpu_s == pytest.approx(cpu, abs=0.05)


def test_vanished_processes_are_skipped(tree: int) -> None:
    sleeps = [p for p in psutil.Process(tree).children() if p.name() == "sleep"]
    assert len(sleeps) == 3
    for process in sleeps:
        process.kill()  # the root reaps them: they leave the tree
    deadline = time.monotonic() + 3
    while len(tree_pids([tree])) > 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    sample = sample_tree([dead_pid(), tree])
    assert sample is not None and sample.processes == 2 and sample.pids[0] == tree
    assert not {process.pid for process in sleeps} & set(sample.pids)
    assert tree_pids([dead_pid()]) == []
    assert sample_tree([dead_pid()]) is None


def test_cpu_percent_of_a_busy_child_is_about_one_core() -> None:
    with spawned(BUSY, ready=False) as busy:
        before = sample_tree([busy.pid])
        time.sleep(0.5)
        after = sample_tree([busy.pid])
    assert before is not None and after is not None
    percent = cpu_percent(before, after)
    assert percent is not None and 50 <= percent <= 110


def test_command_name_with_spaces_and_parens() -> None:
    with spawned(RENAMED) as child:
        assert f"({ODD_NAME.decode()})" in Path(f"/proc/{child.pid}/stat").read_text()
        sample = sample_tree([child.pid])
        process = psutil.Process(child.pid)
        rss, times = process.memory_info().rss, process.cpu_times()
    assert sample is not None and sample.pids == (child.pid,)
    assert abs(sample.rss_bytes - rss) <= 0.1 * rss
    cpu = times.user + times.system + times.children_user + times.children_system
    assert sample.cpu_s == pytest.approx(cpu, abs=0.05)


def test_cpu_percent_arithmetic() -> None:
    def at(t: float, cpu_s: float) -> TreeSample:
        return TreeSample(t=t, pids=(1,), rss_bytes=0, cpu_s=cpu_s, processes=1)

    assert cpu_percent(at(10.0, 1.0), at(12.0, 4.0)) == 150.0
    assert cpu_percent(at(10.0, 4.0), at(11.0, 1.0)) == 0.0
    assert cpu_percent(at(10.0, 1.0), at(10.0, 2.0)) is None
    assert cpu_percent(at(11.0, 1.0), at(10.0, 2.0)) is None


def fake_process(
    proc: Path, pid: int, ppid: int, comm: str = "x", ticks: int = 0, pages: int = 0
) -> None:
    """A /proc/<pid> with stat (utime..cstime: ticks, 2, 3, 4 clock ticks) and statm."""
    folder = proc / str(pid)
    folder.mkdir()
    counters = f"{ticks} 2 3 4"
    (folder / "stat").write_text(f"{pid} ({comm}) S {ppid} {'0 ' * 9}{counters} 20 0 1 0 5 9 7\n")
    (folder / "statm").write_text(f"100 {pages} 0 0 0 0 0\n")


def fake_children(proc: Path, pid: int, tid: int, children: str) -> None:
    task = proc / str(pid) / "task" / str(tid)
    task.mkdir(parents=True)
    (task / "children").write_text(children)


def test_fallback_reads_parent_pids_without_children_files(tmp_path: Path) -> None:
    fake_process(tmp_path, 1, 0)
    fake_process(tmp_path, 10, 1, ticks=10, pages=1)
    fake_process(tmp_path, 11, 10, comm="we) ird (na me", ticks=20, pages=2)
    fake_process(tmp_path, 12, 11, comm="(", ticks=30, pages=3)
    fake_process(tmp_path, 13, 1, ticks=1000, pages=1000)  # not in the tree
    (tmp_path / "self").mkdir()
    assert tree_pids([404, 10, 10], proc=tmp_path) == [10, 11, 12]
    assert tree_pids([11], proc=tmp_path) == [11, 12]
    sample = sample_tree([10], proc=tmp_path)
    assert sample is not None
    assert (sample.pids, sample.processes) == ((10, 11, 12), 3)
    assert sample.rss_bytes == 6 * PAGE_SIZE
    assert sample.cpu_s == pytest.approx((10 + 20 + 30 + 3 * 9) / CLOCK_TICKS)
    assert sample_tree([404], proc=tmp_path) is None


def test_walk_reads_every_threads_children_file(tmp_path: Path) -> None:
    for pid in (10, 11, 12, 13):
        fake_process(tmp_path, pid, 10 if pid > 10 else 1)
    fake_children(tmp_path, 10, 10, "11 ")
    fake_children(tmp_path, 10, 15, "12 99 ")  # 99 is listed but already gone
    fake_children(tmp_path, 11, 11, "")
    fake_children(tmp_path, 12, 12, "11 10 ")  # never listed twice
    fake_children(tmp_path, 13, 13, "")  # its ppid says 10, but no children file lists it
    assert tree_pids([10], proc=tmp_path) == [10, 11, 12]
    sample = sample_tree([10], proc=tmp_path)
    assert sample is not None and sample.pids == (10, 11, 12)
