"""The counters of one thread (`usage.thread.ThreadMeter`): its IO read from its own
`/proc/thread-self/io` file (opened once per thread), also in a forked child."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

from yprov_workflows.environment import process_id
from yprov_workflows.usage.thread import ThreadMeter, _io_counts, _seconds


def _measured_io(path: Path, size: int) -> dict[str, int | float]:
    """The figures of writing then reading `size` bytes with plain system calls."""
    meter = ThreadMeter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, b"x" * size)
    os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    os.read(fd, size + 1)
    os.close(fd)
    return meter.figures(meter.end())


def test_a_threads_io_is_its_own_exactly(tmp_path: Path) -> None:
    ThreadMeter()  # this thread's file opened
    figures = _measured_io(tmp_path / "a", 12345)
    assert figures["written_chars"] == 12345 and figures["read_chars"] == 12345
    other: dict[str, int | float] = {}
    thread = threading.Thread(target=lambda: other.update(_measured_io(tmp_path / "b", 777)))
    thread.start()
    thread.join()
    assert other["written_chars"] == 777 and other["read_chars"] == 777


def test_a_forked_child_reads_its_own_pid_and_thread(tmp_path: Path) -> None:
    ThreadMeter()  # the parent's thread file opened first: the child must not reuse it
    parent = process_id()
    child = os.fork()
    if child == 0:  # the child: exit status 0 when all holds, never back into pytest
        ok = False
        try:
            figures = _measured_io(tmp_path / "c", 4321)
            ok = process_id() == os.getpid() != parent and figures["written_chars"] == 4321
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert process_id() == os.getpid() == parent


KERNEL_TEXT = (
    b"rchar: 700\nwchar: 80\nsyscr: 3\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\n"
    b"cancelled_write_bytes: 0\n"
)


def test_io_counters_are_read_in_the_kernels_order_and_in_any_other() -> None:
    ours = {"read_bytes": 4096, "write_bytes": 8192, "read_chars": 700, "written_chars": 80}
    assert _io_counts(KERNEL_TEXT) == ours
    assert list(_io_counts(KERNEL_TEXT)) == list(ours)  # the figures' order, as documented
    shuffled = b"wchar: 80\nread_bytes: 4096\nrchar: 700\n"
    assert _io_counts(shuffled) == {"read_bytes": 4096, "read_chars": 700, "written_chars": 80}
    damaged = KERNEL_TEXT.replace(b"wchar: 80", b"wchar: ?")
    assert _io_counts(damaged) == {"read_bytes": 4096, "write_bytes": 8192, "read_chars": 700}
    assert _io_counts(b"") == {}


def test_seconds_are_what_round_to_six_digits_gives_for_microsecond_counters() -> None:
    rng = random.Random(12)
    for _ in range(20_000):
        start = rng.randrange(10**12) / 1e6  # getrusage times: whole microseconds
        end = start + rng.randrange(10**9) / 1e6
        assert _seconds(end - start) == round(end - start, 6)
