"""Throughput of `FileHasher.record` against `sha256sum`, and the hasher's stat-only cache.

A 1 GB file (256 MB with `--quick`) of random-ish bytes is written to a temporary folder and read
once so that both contenders find it in the page cache. Then, interleaved (ours, sha256sum, ours,
...), a fresh `FileHasher().record(path)` and a `sha256sum` subprocess hash it; when `openssl` is
installed, `openssl dgst -sha256` joins as a second native reference (it uses the CPU's SHA
instructions, like Python's hashlib; coreutils' sha256sum may not). Target: ours at least 0.8x the
throughput of sha256sum.

The cache part shows that a second `record` of an unchanged file on the same hasher costs one
`stat` (`bytes_read` does not grow), and that touching or modifying the file makes it hash again.
The file is deleted at the end.

Usage: python benchmarks/bench_hashing.py [--quick]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _util import median, parse_args, print_table, spread, verdict

from yprov_workflows.hashing import CHUNK, FileHasher

MIB = 1 << 20
BLOCK = 16 * MIB
TARGET = 0.8
STAT_CALLS = 10_000
T = TypeVar("T")


def make_file(path: Path, size: int) -> None:
    """`size` bytes: one 16 MiB random block, repeated with a changing 8-byte prefix."""
    block = bytearray(os.urandom(BLOCK))
    with path.open("wb") as handle:
        for number in range(size // BLOCK):
            block[:8] = number.to_bytes(8, "little")
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())


def read_all(path: Path) -> float:
    """Read the file once without hashing (warms the page cache); return the seconds taken."""
    buffer = bytearray(CHUNK)
    t0 = time.perf_counter()
    with path.open("rb", buffering=0) as handle:
        while handle.readinto(buffer):
            pass
    return time.perf_counter() - t0


def ours(path: Path) -> tuple[float, str]:
    hasher = FileHasher()
    t0 = time.perf_counter()
    record = hasher.record(str(path))
    return time.perf_counter() - t0, record.sha256 or ""


def sha256sum(path: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, out.stdout.split()[0]


def openssl(path: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    cmd = ["openssl", "dgst", "-sha256", "-r", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, out.stdout.split()[0]


def throughput(path: Path, reps: int) -> dict[str, list[float]]:
    contenders: dict[str, Callable[[Path], tuple[float, str]]] = {
        "FileHasher.record": ours,
        "sha256sum": sha256sum,
    }
    if shutil.which("openssl"):  # a second native reference: OpenSSL's own command line
        contenders["openssl dgst"] = openssl
    times: dict[str, list[float]] = {name: [] for name in contenders}
    digests: dict[str, set[str]] = {name: set() for name in contenders}
    for rep in range(reps):
        for name, func in contenders.items():
            seconds, digest = func(path)
            times[name].append(seconds)
            digests[name].add(digest)
            print(f"  rep {rep + 1}/{reps} {name:18s} {seconds:.3f} s", flush=True)
    same = len(set().union(*digests.values())) == 1
    print(f"digests agree: {'yes' if same else 'NO'} ({next(iter(digests['sha256sum']))[:16]}...)")
    return times


def report_throughput(size: int, times: dict[str, list[float]], read_s: float) -> None:
    mb = size / 1e6
    rows = [["plain read (no hash, warm)", 1, read_s, f"{read_s:.3f}", mb / read_s, "-"]]
    base = mb / median(times["sha256sum"])
    for name, values in times.items():
        rate = mb / median(values)
        rows.append([name, len(values), median(values), spread(values), rate, rate / base])
    print(f"\nthroughput on a {mb:.0f} MB file in the page cache")
    print_table(["contender", "reps", "median s", "min..max s", "MB/s", "x sha256sum"], rows)
    ratio = (mb / median(times["FileHasher.record"])) / base
    print(f"FileHasher/sha256sum throughput: {verdict(ratio, TARGET, at_most=False)}")


def cache_check(path: Path, size: int) -> None:
    print("\ncache: one hasher, same file")
    hasher = FileHasher()
    rows: list[list[object]] = []
    first_s, first = timed(lambda: hasher.record(str(path)))
    rows.append(["first record (hash)", duration(first_s), hasher.bytes_read, first.sha256[:12]])
    before = hasher.bytes_read
    t0 = time.perf_counter()
    for _ in range(STAT_CALLS):
        again = hasher.record(str(path))
    per_call = (time.perf_counter() - t0) / STAT_CALLS
    rows.append(
        [
            f"unchanged x{STAT_CALLS} (per call)",
            duration(per_call),
            hasher.bytes_read,
            again.sha256[:12],
        ]
    )
    rows.append(["os.stat alone (per call)", duration(stat_time(path)), "-", "-"])
    cached = hasher.bytes_read == before and again == first
    touch(path)
    touch_s, touched = timed(lambda: hasher.record(str(path)))
    touched_read = hasher.bytes_read
    rows.append(
        ["after touch (mtime +1 s)", duration(touch_s), hasher.bytes_read, touched.sha256[:12]]
    )
    flip_first_byte(path)
    mod_s, modified = timed(lambda: hasher.record(str(path)))
    rows.append(
        ["after modifying 1 byte", duration(mod_s), hasher.bytes_read, modified.sha256[:12]]
    )
    print_table(["call", "time", "bytes_read (cumulative)", "sha256"], rows)
    print(f"unchanged file served from cache (bytes_read unchanged, same record): {yes(cached)}")
    print(f"touched file hashed again: {yes(touched_read == before + size)}")
    print(
        f"modified file hashed again with a new digest: "
        f"{yes(hasher.bytes_read == before + 2 * size and modified.sha256 != first.sha256)}"
    )


def timed(func: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    result = func()
    return time.perf_counter() - t0, result


def stat_time(path: Path) -> float:
    name = str(path)
    t0 = time.perf_counter()
    for _ in range(STAT_CALLS):
        os.stat(name)
    return (time.perf_counter() - t0) / STAT_CALLS


def touch(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def flip_first_byte(path: Path) -> None:
    with path.open("r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))


def duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.2f} us"


def yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    size = (256 if args.quick else 1024) * MIB
    reps = 3 if args.quick else 5
    folder = Path(tempfile.mkdtemp(prefix="yprov-bench-hash-"))
    path = folder / "big.bin"
    try:
        t0 = time.perf_counter()
        make_file(path, size)
        print(
            f"wrote {size / 1e6:.0f} MB to {path} in {time.perf_counter() - t0:.1f} s", flush=True
        )
        read_all(path)  # into the page cache
        read_s = read_all(path)
        times = throughput(path, reps)
        report_throughput(size, times, read_s)
        cache_check(path, size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"\ndeleted {folder}")


if __name__ == "__main__":
    main()
