"""A real headless Chromium driven through the DevTools protocol over a pipe (standard library).

`Browser.start` launches Debian's `chromium` with `--remote-debugging-pipe` (commands on fd 3,
replies on fd 4, one JSON message per NUL-terminated frame), with the network off: in a network
namespace of its own when `unshare --net` works (root), and always with every host name resolved
to nothing and a dead proxy. `install_chromium` installs the Debian package when it is missing
(`apt-get install -y chromium`, root only) and otherwise says why it cannot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--window-size=1280,800",
    "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install_chromium() -> str:
    """The path of chromium, installed from Debian's package if needed; raises RuntimeError with
    the reason when it cannot be."""
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError("chromium is not installed and apt-get cannot run here (not root?)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"]):
        subprocess.run(command, capture_output=True, timeout=600, check=False, env=env)
        found = find_chromium()
        if found:
            return found
    command = ["apt-get", "install", "-y", "chromium"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    found = find_chromium()
    if found is None:
        raise RuntimeError(f"apt-get install chromium failed: {result.stderr.strip()[-300:]}")
    return found


class Browser:
    """One Chromium process and one page, driven by CDP commands."""

    def __init__(self, process: subprocess.Popen[bytes], send_fd: int, recv_fd: int) -> None:
        self.process, self.send_fd, self.recv_fd = process, send_fd, recv_fd
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._buffer = b""

    @classmethod
    @contextmanager
    def start(cls, program: str, profile: Path) -> Iterator[Browser]:
        to_child, from_child = os.pipe(), os.pipe()
        command = [program, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        if shutil.which("unshare") and _unshare_works():
            command = ["unshare", "--net", *command]

        def child_fds() -> None:  # the pipe ends become fds 3 (commands) and 4 (replies)
            read, write = (
                fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child[0], from_child[1])
            )
            os.dup2(read, 3)
            os.dup2(write, 4)

        process = subprocess.Popen(
            command,
            pass_fds=(3, 4),
            preexec_fn=child_fds,  # a test helper: no threads in the way of a preexec_fn
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child[0])
        os.close(from_child[1])
        browser = cls(process, to_child[1], from_child[0])
        try:
            yield browser
        finally:
            browser.close()

    def close(self) -> None:
        with suppress(OSError):
            self._send("Browser.close", {}, session=False)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self.send_fd, self.recv_fd):
            os.close(fd)

    def open(self, url: str) -> None:
        """A new page at `url`, its events (network requests included) recorded."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, False
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable")
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise AssertionError(f"page error: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")

    def click(self, x: float, y: float) -> None:
        """A real left click at page coordinates (pointer and mouse events, as a person's)."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            params = {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            self.call("Input.dispatchMouseEvent", params)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> Any:
        ident = self._send(method, params or {}, session)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message = self._receive()
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
        raise AssertionError(f"no reply to {method}")

    def _send(self, method: str, params: dict[str, Any], session: bool) -> int:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.send_fd, json.dumps(message).encode() + b"\0")
        return self._next

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self.recv_fd, 1 << 20)
            if not chunk:
                raise AssertionError("chromium closed the DevTools pipe")
            self._buffer += chunk
        frame, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(frame)
        return message


def _unshare_works() -> bool:
    try:
        result = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0
