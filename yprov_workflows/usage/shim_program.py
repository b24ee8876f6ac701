"""The measuring shim: stands in front of a shell, runs it, and writes the tree's exact usage.

This file is executed as a script, never imported by the recorder: it must start fast (it runs with
`python -I -S`) and use only `os`, `sys` and `signal`. `shims.py` writes a copy of it with the
real shell's path filled in for `REAL_SHELL`.

A shim started inside a measured tree (a `script:` job's own `shell()` calls) only execs the real
shell: the outer shim's `wait4` already counts it.

It is reached as `<step folder>/<shell name> -c <command>` (the name keeps Snakemake's shell
detection working), forks, execs the real shell with the same arguments, forwards termination
signals, `wait4`s the shell (rusage covers the shell and every descendant it reaped), reads the IO
counters of `/proc/self/io` (which absorb those of reaped children), writes one usage file
`<pid>.usage` next to itself, and exits exactly as the shell did.
"""

import _signal as signal  # type: ignore[import-not-found]  # `signal` imports enum: +4 ms a job
import os
import resource
import sys

REAL_SHELL = "/bin/sh"
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
IO_FIELDS = ("rchar", "wchar", "read_bytes", "write_bytes")
NESTED = "YPROV_SHIM_ACTIVE"  # set for the measured tree: a shim inside it only execs the shell


def read_io() -> dict[str, int]:
    try:
        with open("/proc/self/io", "rb") as handle:
            pairs = (line.split(b":") for line in handle.read().splitlines())
            return {k.decode(): int(v) for k, v in pairs if k.decode() in IO_FIELDS}
    except (OSError, ValueError):
        return {}


def run_child(argv: list[str]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(REAL_SHELL, [REAL_SHELL, *argv])
        finally:
            os._exit(127)

    def forward(number: int, _frame: object) -> None:
        try:
            os.kill(pid, number)
        except OSError:
            pass

    for number in FORWARDED:
        signal.signal(number, forward)
    return pid


def write_usage(
    folder: str,
    status: int,
    usage: resource.struct_rusage,
    io_before: dict[str, int],
    io_after: dict[str, int],
) -> None:
    lines = [
        f"status {status}",
        f"utime {usage.ru_utime!r}",
        f"stime {usage.ru_stime!r}",
        f"maxrss_kib {usage.ru_maxrss}",
        f"inblock {usage.ru_inblock}",
        f"oublock {usage.ru_oublock}",
    ]
    lines += [f"{k} {io_after[k] - io_before.get(k, 0)}" for k in IO_FIELDS if k in io_after]
    path = os.path.join(folder, f"{os.getpid()}.usage")
    with open(path + ".tmp", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.rename(path + ".tmp", path)


def exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def main() -> None:
    if os.environ.get(NESTED):
        os.execv(REAL_SHELL, [REAL_SHELL, *sys.argv[1:]])
    os.environ[NESTED] = "1"
    io_before = read_io()
    pid = run_child(sys.argv[1:])
    _, status, usage = os.wait4(pid, 0)
    try:
        write_usage(
            os.path.dirname(os.path.abspath(sys.argv[0])), status, usage, io_before, read_io()
        )
    except OSError:
        pass
    exit_like(status)


if __name__ == "__main__":
    main()
