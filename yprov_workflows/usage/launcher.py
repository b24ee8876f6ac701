"""Start job commands from a lean launcher process, so their peak RSS is their own.

Linux counts the pages a child inherits from its parent before `exec` in the child's peak RSS
(`ru_maxrss`). Started by Snakemake's own process, `echo hi` reports Snakemake's 90 MiB (and a
Snakefile's 300 MiB table). The launcher (`launcher_program.py`, one per run, about 8 MiB) starts
the commands instead; `Launcher.popen` returns a `LaunchedProcess` that behaves like the
`subprocess.Popen` Snakemake's `shell()` uses (pid, stdout pipe, wait, poll, kill, terminate, exit
status) and reports the reaped tree's exact usage to the waiting thread's `ThreadUsage`.

Anything the launcher does not support (other Popen arguments) and a launcher that cannot start or
has died fall back to `MeasuredPopen` in this process: same figures, with the parent's pages in the
peak RSS (`Launcher.reason` says why).
"""

from __future__ import annotations

import contextlib
import io
import marshal
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from yprov_workflows.usage.process import IO_FIELDS, ProcessUsage, ThreadUsage

PROGRAM = Path(__file__).with_name("launcher_program.py")
SUPPORTED = frozenset(
    {
        "bufsize",
        "executable",
        "stdin",
        "stdout",
        "stderr",
        "shell",
        "cwd",
        "env",
        "universal_newlines",
        "text",
        "encoding",
        "errors",
        "close_fds",
    }
)
Popen = Callable[..., Any]


class Launcher:
    """The client of one launcher process, started on first use; safe to share between threads."""

    def __init__(self) -> None:
        self.reason: str | None = None  # why commands start from this process instead
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()

    def popen_class(self, usage: ThreadUsage) -> Popen:
        """A `subprocess.Popen` stand-in whose processes start from the launcher."""
        fallback = usage.popen_class()

        def popen(args: Any, *more: Any, **kwargs: Any) -> Any:
            request = None if more else _request(args, kwargs)
            control = self._connect() if request is not None else None
            if request is None or control is None:
                return fallback(args, *more, **kwargs)
            try:
                return LaunchedProcess(control, request, usage)
            except _LauncherGone:
                self._lost("the launcher process ended")
                return fallback(args, *more, **kwargs)

        return popen

    def _connect(self) -> socket.socket | None:
        with self._lock:
            if self._control is None and self.reason is None:
                self._start()
            return self._control

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(PROGRAM), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
            self._control = ours
        except OSError as exc:
            ours.close()
            self.reason = f"the launcher process could not start: {exc}"
        finally:
            theirs.close()

    def _lost(self, reason: str) -> None:
        with self._lock:
            self.reason = self.reason or reason

    def close(self) -> None:
        """Stop the launcher (it exits when its socket closes); processes it started go on."""
        with self._lock:
            control, self._control = self._control, None
            process, self._process = self._process, None
            self.reason = self.reason or "the launcher was closed"
        if control is not None:
            control.close()
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class _LauncherGone(Exception):
    """The launcher did not answer a request."""


class _Request:
    """One command as the launcher needs it, and the pipes this side keeps."""

    def __init__(self, argv: list[str], executable: str, env: dict[str, str], cwd: str) -> None:
        self.argv, self.executable, self.env, self.cwd = argv, executable, env, cwd
        self.child_fds: list[int] = []  # the child's stdin, stdout, stderr
        self.close_after: list[int] = []  # descriptors opened here for the child
        self.stdout: IO[Any] | None = None

    def message(self) -> bytes:
        return marshal.dumps((self.argv, self.executable, self.env, self.cwd))


def _request(args: Any, kwargs: dict[str, Any]) -> _Request | None:
    """The launcher request for a Popen call, or None when the launcher cannot do it."""
    if set(kwargs) - SUPPORTED or kwargs.get("close_fds", True) is False:
        return None
    streams = kwargs.get("stdin"), kwargs.get("stdout"), kwargs.get("stderr")
    if not all(_plain_stream(s, allow_pipe=i == 1) for i, s in enumerate(streams)):
        return None
    env = dict(os.environ if kwargs.get("env") is None else kwargs["env"])
    argv = _argv(args, bool(kwargs.get("shell")), kwargs.get("executable"))
    if argv is None or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        return None
    cwd = os.fspath(kwargs["cwd"]) if kwargs.get("cwd") is not None else os.getcwd()
    request = _Request(argv, _resolve(argv[0], kwargs.get("executable"), env), env, str(cwd))
    _add_streams(request, streams, kwargs)
    return request


def _plain_stream(stream: Any, allow_pipe: bool) -> bool:
    if stream is None or stream == subprocess.DEVNULL or isinstance(stream, int):
        return stream != subprocess.PIPE or allow_pipe
    return hasattr(stream, "fileno")


def _argv(args: Any, shell: bool, executable: Any) -> list[str] | None:
    if isinstance(args, str | os.PathLike):
        items = [os.fspath(args)]
    elif isinstance(args, Sequence) and not isinstance(args, bytes):
        items = [os.fspath(a) for a in args]
    else:
        return None
    if not all(isinstance(a, str) for a in items):
        return None
    if shell:
        items = ["/bin/sh", "-c", *items]
        if executable is not None:
            items[0] = os.fspath(executable)
    return [str(a) for a in items]


def _resolve(first: str, executable: Any, env: Mapping[str, str]) -> str:
    """The program to exec, found on the child's PATH as Popen does."""
    program = os.fspath(executable) if executable is not None else first
    if os.sep in str(program):
        return str(program)
    found = shutil.which(str(program), path=env.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(2, f"No such file or directory: {program!r}")
    return found


def _add_streams(request: _Request, streams: tuple[Any, Any, Any], kwargs: dict[str, Any]) -> None:
    stdin, stdout, stderr = streams
    request.child_fds = [_fd(request, stdin, 0), -1, -1]
    if stdout == subprocess.PIPE:
        read_end, write_end = os.pipe()
        request.close_after.append(write_end)
        request.child_fds[1] = write_end
        request.stdout = _reader(read_end, kwargs)
    else:
        request.child_fds[1] = _fd(request, stdout, 1)
    if stderr == subprocess.STDOUT:
        request.child_fds[2] = request.child_fds[1]
    else:
        request.child_fds[2] = _fd(request, stderr, 2)


def _fd(request: _Request, stream: Any, default: int) -> int:
    if stream is None:
        return default
    if stream == subprocess.DEVNULL:
        fd = os.open(os.devnull, os.O_RDWR)
        request.close_after.append(fd)
        return fd
    return stream if isinstance(stream, int) else int(stream.fileno())


def _reader(fd: int, kwargs: dict[str, Any]) -> IO[Any]:
    """Our end of the stdout pipe, opened as Popen opens it."""
    raw: IO[Any] = open(fd, "rb", kwargs.get("bufsize", -1))  # noqa: SIM115 (the caller owns it)
    text = kwargs.get("text") or kwargs.get("universal_newlines")
    if text or kwargs.get("encoding") or kwargs.get("errors"):
        return io.TextIOWrapper(raw, encoding=kwargs.get("encoding"), errors=kwargs.get("errors"))
    return raw


class LaunchedProcess:
    """A process the launcher started, used like `subprocess.Popen`."""

    def __init__(self, control: socket.socket, request: _Request, usage: ThreadUsage) -> None:
        self.args = request.argv
        self.stdin: IO[Any] | None = None
        self.stdout = request.stdout
        self.stderr: IO[Any] | None = None
        self.returncode: int | None = None
        self._usage = usage
        self._reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.pid = self._start(control, request, theirs)
        finally:
            theirs.close()
            for fd in request.close_after:
                os.close(fd)
        usage.spawned(self.pid)

    def _start(self, control: socket.socket, request: _Request, theirs: socket.socket) -> int:
        try:
            socket.send_fds(control, [request.message()], [theirs.fileno(), *request.child_fds])
            answer = self._reply.recv(1 << 16)
        except OSError as exc:
            raise _LauncherGone from exc
        if not answer:
            raise _LauncherGone
        message = marshal.loads(answer)
        if message[0] == "error":
            raise OSError(message[1], message[2])
        return int(message[1])

    def poll(self) -> int | None:
        if self.returncode is None:
            self._receive(block=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._reply.settimeout(timeout)
            try:
                self._receive(block=True)
            except TimeoutError:
                self._reply.settimeout(None)
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def _receive(self, block: bool) -> None:
        try:
            data = self._reply.recv(1 << 16, 0 if block else socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except ConnectionError:
            data = b""
        if not data:
            self._orphaned()
            return
        _, status, utime, stime, maxrss_kib, counters = marshal.loads(data)
        self.returncode = os.waitstatus_to_exitcode(status)
        self._reply.close()
        self._usage.report(_usage(utime, stime, maxrss_kib, counters))

    def _orphaned(self) -> None:
        """The launcher died: wait for the process to vanish; its exit status is lost."""
        while _alive(self.pid):
            time.sleep(0.05)
        self.returncode = 255

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(OSError):
                self._reply.send(marshal.dumps(("signal", int(number))))

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> LaunchedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stdout is not None:
            self.stdout.close()
        self.wait()


def _usage(utime: float, stime: float, maxrss_kib: int, counters: dict[str, int]) -> ProcessUsage:
    return ProcessUsage(
        cpu_user_s=utime,
        cpu_system_s=stime,
        max_rss_bytes=maxrss_kib * 1024,
        processes=1,
        **{ours: counters.get(theirs, 0) for theirs, ours in IO_FIELDS.items()},
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}").exists()
