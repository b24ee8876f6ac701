"""The launcher: processes start from a lean process, so a fat parent's pages are not their peak
RSS; everything else behaves as `subprocess.Popen` does for Snakemake's `shell()`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from yprov_workflows.usage.launcher import LaunchedProcess, Launcher
from yprov_workflows.usage.process import ProcessUsage, ThreadUsage

MIB = 2**20
TOUCH_300 = "b = bytearray(300 * 2**20); b[::4096] = b'x' * (len(b) // 4096)"


@pytest.fixture
def launcher() -> Iterator[Launcher]:
    launcher = Launcher()
    yield launcher
    launcher.close()


@pytest.fixture
def fat_parent() -> Iterator[bytearray]:
    """This test process holds 200 MiB more, all pages touched (like a Snakefile's big table)."""
    table = bytearray(200 * MIB)
    table[::4096] = b"x" * (len(table) // 4096)
    yield table


def test_a_fat_parent_is_not_the_childs_peak_rss(launcher: Launcher, fat_parent: bytearray) -> None:
    usage = ThreadUsage()
    with usage.collecting() as found:
        launched = launcher.popen_class(usage)("echo hi > /dev/null", shell=True)
        assert isinstance(launched, LaunchedProcess) and launched.wait() == 0
        forked = usage.popen_class()("echo hi > /dev/null", shell=True)
        assert forked.wait() == 0
    ours, plain = found
    assert plain.max_rss_bytes > 200 * MIB  # the kernel's figure for a child of this process
    assert ours.max_rss_bytes < 16 * MIB  # bash's own pages plus the launcher's few


def test_a_child_that_really_allocates_is_measured(
    launcher: Launcher, fat_parent: bytearray
) -> None:
    usage = ThreadUsage()
    with usage.collecting() as found:
        assert launcher.popen_class(usage)([sys.executable, "-c", TOUCH_300]).wait() == 0
    (tree,) = found
    assert 300 * MIB <= tree.max_rss_bytes < 340 * MIB
    assert tree.cpu_user_s + tree.cpu_system_s > 0


def test_exit_codes_signals_stdout_and_kill(launcher: Launcher) -> None:
    popen = launcher.popen_class(ThreadUsage())
    assert popen("exit 7", shell=True, executable="/bin/bash").wait() == 7
    assert popen(["/bin/sh", "-c", "kill -TERM $$"]).wait() == -signal.SIGTERM
    piped = popen("echo out; echo err >&2", shell=True, stdout=subprocess.PIPE, text=True)
    assert piped.stdout.read() == "out\n" and piped.wait() == 0
    sleeper = popen(["sleep", "30"])
    assert sleeper.poll() is None
    sleeper.kill()
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    sleeper.kill()  # after the end: nothing happens (no stray signal to a reused pid)


def test_environment_working_directory_and_missing_programs(
    launcher: Launcher, tmp_path: object
) -> None:
    popen = launcher.popen_class(ThreadUsage())
    out = popen(
        'echo "$ONLY_HERE $PWD"',
        shell=True,
        env={"ONLY_HERE": "yes", "PATH": os.defpath},
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
    )
    assert out.stdout.read().decode().split() == ["yes", str(tmp_path)]
    out.wait()
    with pytest.raises(FileNotFoundError):
        popen(["no-such-program-anywhere"])
    slow = popen(["sleep", "0.5"])
    with pytest.raises(subprocess.TimeoutExpired):
        slow.wait(timeout=0.05)
    assert slow.wait() == 0


def test_each_thread_gets_only_its_own_processes(launcher: Launcher) -> None:
    usage = ThreadUsage()
    popen = launcher.popen_class(usage)
    results: dict[int, list[ProcessUsage]] = {}

    def work(n: int) -> None:
        with usage.collecting() as found:
            for _ in range(n):
                popen(["true"]).wait()
        results[n] = found

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: len(found) for n, found in results.items()} == {1: 1, 2: 2, 3: 3, 4: 4}


def test_unsupported_arguments_and_a_dead_launcher_fall_back(launcher: Launcher) -> None:
    popen = launcher.popen_class(ThreadUsage())
    assert not isinstance(popen(["true"], start_new_session=True), LaunchedProcess)
    first = popen(["sleep", "0.3"])
    assert isinstance(first, LaunchedProcess)
    os.kill(_launcher_pid(launcher), signal.SIGKILL)
    time.sleep(0.1)
    assert first.wait() == 255  # its exit status died with the launcher; it is not a success
    later = popen(["true"])
    assert not isinstance(later, LaunchedProcess) and later.wait() == 0
    assert launcher.reason is not None


def _launcher_pid(launcher: Launcher) -> int:
    process = launcher._process
    assert process is not None
    return process.pid
