"""MeasuredPopen: exact usage of a process tree, reported to the thread that reaped it."""

from __future__ import annotations

import subprocess
import sys
import threading

from yprov_workflows.usage.process import ProcessUsage, ThreadUsage

BURN = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.2: pass')"
TOUCH = "b = bytearray(200 * 2**20); b[::4096] = b'x' * (len(b) // 4096)"


def test_children_cpu_peak_rss_and_io_are_reported() -> None:
    usage = ThreadUsage()
    popen = usage.popen_class()
    python = f'"{sys.executable}" -c'
    command = f'{python} "{BURN}"; {python} "{TOUCH}"; head -c 1000000 /dev/zero > /dev/null'
    with usage.collecting() as found:
        process = popen(["/bin/bash", "-c", command])
        assert process.wait() == 0
    (tree,) = found
    assert tree.cpu_user_s + tree.cpu_system_s >= 0.2
    assert tree.max_rss_bytes >= 200 * 2**20
    assert tree.written_chars >= 1_000_000
    assert tree.processes == 1


def test_exit_codes_and_signals_are_unchanged() -> None:
    popen = ThreadUsage().popen_class()
    assert popen(["/bin/sh", "-c", "exit 7"]).wait() == 7
    process = popen(["/bin/sh", "-c", "kill -TERM $$"])
    assert process.wait() == -15
    assert subprocess.run(["true"], check=False).returncode == 0


def test_polling_with_timeout_and_communicate_work() -> None:
    usage = ThreadUsage()
    popen = usage.popen_class()
    with usage.collecting() as found:
        process = popen(["/bin/sh", "-c", "sleep 0.2; echo hi"], stdout=subprocess.PIPE)
        assert process.poll() is None
        out, _ = process.communicate(timeout=10)
    assert out == b"hi\n" and process.returncode == 0
    assert len(found) == 1


def test_each_thread_gets_only_its_own_processes() -> None:
    usage = ThreadUsage()
    popen = usage.popen_class()
    results: dict[int, list[ProcessUsage]] = {}

    def work(n: int) -> None:
        with usage.collecting() as found:
            for _ in range(n):
                popen(["true"]).wait()
        results[n] = found

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: len(found) for n, found in results.items()} == {1: 1, 2: 2, 3: 3}
    popen(["true"]).wait()  # outside `collecting`: not reported, no error
