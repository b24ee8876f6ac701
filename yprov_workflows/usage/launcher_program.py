"""The launcher process: starts a run's job commands from a lean process and reaps them.

A process forked from a large parent (Snakemake holds 80 MiB or more, plus whatever a Snakefile
allocates) carries the parent's resident pages until it calls exec, and Linux counts them in the
child's peak RSS (`ru_maxrss`): every job would report Snakemake's memory. Jobs started by this
small process (about 8 MiB, run as `python -I -S launcher_program.py`, importing only built-in
C modules) start with its few pages instead, so their peak RSS is their own.

Protocol, over the SOCK_SEQPACKET socket whose descriptor is the first argument (one request per
message, `marshal`-encoded):
the client sends `(argv, executable, env, cwd)` with four descriptors (a reply socket, the child's
stdin, stdout and stderr; -1 entries are not sent and mean /dev/null). The launcher forks and execs,
then answers on the reply socket `("pid", pid)` or `("error", errno, text)`; when the child exits,
`("exit", status, utime, stime, maxrss_kib, io_counters)`. A message `("signal", number)` on the
reply socket signals the child, only while it has not been reaped (no stray kill of a reused pid).
The launcher exits when the client's socket closes; children it has not reaped then go on as
orphans, as they would if the client had died.
"""

import _signal  # type: ignore[import-not-found]  # the C module: no enum import
import _socket
import marshal
import os
import select
import sys

MAX_MESSAGE = 1 << 20
IO_KEYS = (b"rchar", b"wchar", b"read_bytes", b"write_bytes")


def read_io(pid: int) -> dict[str, int]:
    try:
        fd = os.open(f"/proc/{pid}/io", os.O_RDONLY)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in data.splitlines():
        key, _, value = line.partition(b":")
        if key in IO_KEYS:
            found[key.decode()] = int(value)
    return found


def exec_child(
    argv: list[str], executable: str, env: dict[str, str], cwd: str, stdio: list[int], errpipe: int
) -> None:
    """In the forked child: set up descriptors and signals, exec; report failure through errpipe."""
    try:
        for target, fd in enumerate(stdio):
            os.dup2(fd, target, inheritable=True)
        os.closerange(3, errpipe)
        os.closerange(errpipe + 1, os.sysconf("SC_OPEN_MAX"))
        for number in (_signal.SIGINT, _signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGCHLD):
            _signal.signal(number, _signal.SIG_DFL)
        _signal.set_wakeup_fd(-1)
        if cwd is not None:
            os.chdir(cwd)
        os.execve(executable, argv, env)
    except OSError as exc:
        os.write(errpipe, marshal.dumps((exc.errno or 0, str(exc))))
    except BaseException as exc:  # never return into the launcher's loop in a child
        os.write(errpipe, marshal.dumps((0, repr(exc))))
    os._exit(127)


class Launcher:
    def __init__(self, control: _socket.socket) -> None:
        self.control = control
        self.children: dict[int, _socket.socket] = {}  # pid -> reply socket
        self.replies: dict[int, int] = {}  # reply socket fd -> pid
        self.devnull = os.open(os.devnull, os.O_RDWR)

    def spawn(self, request: bytes, fds: list[int]) -> None:
        argv, executable, env, cwd = marshal.loads(request)
        reply, stdio = _socket.socket(fileno=fds[0]), fds[1:]
        stdio = [fd if fd >= 0 else self.devnull for fd in stdio]
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            exec_child(argv, executable, env, cwd, stdio, write_end)
        os.close(write_end)
        for fd in set(fds[1:]):
            if fd >= 0:
                os.close(fd)
        failure = read_all(read_end)
        os.close(read_end)
        if failure:
            os.waitpid(pid, 0)
            send(reply, ("error", *marshal.loads(failure)))
            reply.close()
            return
        self.children[pid] = reply
        self.replies[reply.fileno()] = pid
        send(reply, ("pid", pid))

    def on_reply_socket(self, fd: int) -> None:
        pid = self.replies.get(fd)
        reply = self.children.get(pid) if pid is not None else None
        if pid is None or reply is None:
            return
        try:
            data = reply.recv(4096)
        except OSError:
            data = b""
        if not data:  # the client dropped this process: keep reaping it, stop listening
            del self.replies[fd]
            return
        message = marshal.loads(data)
        if message[0] == "signal":
            try:
                os.kill(pid, message[1])
            except OSError:
                pass

    def reap(self) -> None:
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            pid = info.si_pid
            io = read_io(pid)
            _, status, usage = os.wait4(pid, 0)
            reply = self.children.pop(pid, None)
            if reply is None:
                continue
            self.replies.pop(reply.fileno(), None)
            send(reply, ("exit", status, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, io))
            reply.close()

    def serve(self, wakeup: int) -> None:
        while True:
            poller = select.poll()
            for fd in (self.control.fileno(), wakeup, *self.replies):
                poller.register(fd, select.POLLIN)
            ready = {fd for fd, _ in poller.poll()}
            if wakeup in ready:
                drain(wakeup)
                self.reap()
            if self.control.fileno() in ready and not self.on_control():
                return
            for fd in ready:
                if fd in self.replies:
                    self.on_reply_socket(fd)

    def on_control(self) -> bool:
        try:
            data, ancillary, _, _ = self.control.recvmsg(MAX_MESSAGE, _socket.CMSG_SPACE(4 * 4))
        except InterruptedError:
            return True
        if not data:
            return False
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += memoryview(payload).cast("i").tolist()
        try:
            self.spawn(data, fds)
        except Exception as exc:  # a bad request must not stop the launcher
            sys.stderr.write(f"yprov-workflows launcher: {exc!r}\n")
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        return True


def send(sock: _socket.socket, message: tuple[int | float | str | dict[str, int], ...]) -> None:
    try:
        sock.send(marshal.dumps(message))
    except OSError:
        pass


def read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def main() -> None:
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # Ctrl-C reaches the jobs, not their launcher
    wakeup_read, wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    _signal.set_wakeup_fd(wakeup_write)
    _signal.signal(_signal.SIGCHLD, lambda number, frame: None)
    control = _socket.socket(fileno=int(sys.argv[1]))
    Launcher(control).serve(wakeup_read)


if __name__ == "__main__":
    main()
