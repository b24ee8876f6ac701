"""Our calls to the Prefect API at the end of a flow run: one short deadline for all of them.

Prefect's client retries a request that fails (once it has reached the server, also one that
cannot connect) up to `PREFECT_CLIENT_MAX_RETRIES` (5) times, 2, 4, 8, 16 and 32 s apart, and
waits up to `PREFECT_API_REQUEST_TIMEOUT` (60 s) for an answer: with the server gone, each of our
reads took about 70 s, and a failing flow ended 3.5 minutes later than without provenance. So our
calls use a client of their own, without retries, whose requests wait at most the time left of
`DEADLINE_S`; once one cannot reach the server, the others are skipped at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from yprov_workflows.errors import YProvError

T = TypeVar("T")

# All our API calls at one flow run's end together (a few requests, usually 20-100 ms): what
# provenance may add to a flow whose server is gone (a refused connection fails in about 1.5 s).
DEADLINE_S = 5.0


class ApiUnreachable(YProvError):
    """The Prefect API did not answer our calls at a flow run's end (or their time was spent)."""


class FlowEndApi:
    """The Prefect API as the end of one flow run sees it: `call` runs a request under the
    deadline; `unreachable` says why the server is taken as gone (None while it answers)."""

    def __init__(self, deadline_s: float = DEADLINE_S) -> None:
        self.deadline_s = deadline_s
        self._ends = time.monotonic() + deadline_s
        self._client: Any = None
        self._stack = ExitStack()
        self.unreachable: str | None = None

    def call(self, what: str, request: Callable[[Any], T]) -> T:
        """`request(client)`, with no retries; ApiUnreachable once the server is known gone or
        the deadline is spent; Prefect's other errors (an HTTP status) as they are."""
        import httpx

        left = self.left(what)
        try:
            with _no_retries():
                return request(self._open(left))
        except httpx.TransportError as problem:  # refused, reset, timed out: the server is gone
            self.unreachable = f"the Prefect API could not be reached ({_short(problem)})"
            raise ApiUnreachable(f"{what}: {self.unreachable}") from problem

    def left(self, what: str) -> float:
        """The seconds left for our calls; ApiUnreachable when none are, or the server is gone."""
        if self.unreachable is not None:
            raise ApiUnreachable(f"{what}: skipped, {self.unreachable}")
        left = self.remaining()
        if left <= 0:
            raise ApiUnreachable(
                f"{what}: skipped, the {self.deadline_s:g} s for our calls to the Prefect API "
                "at the end of the flow run are spent"
            )
        return left

    def remaining(self) -> float:
        return self._ends - time.monotonic()

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> FlowEndApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self, timeout: float) -> Any:
        """Our own client (not the flow's: its requests wait 60 s), made at the first call."""
        if self._client is None:
            from prefect import get_client

            client = get_client(httpx_settings={"timeout": timeout}, sync_client=True)
            self._client = self._stack.enter_context(client)
        return self._client


@contextmanager
def _no_retries() -> Iterator[None]:
    """Prefect's client settings with `max_retries` 0, in this context only (a copy of the
    current settings: `temporary_settings` validates them all again, about 20 ms)."""
    from prefect.context import SettingsContext, get_settings_context

    current = get_settings_context()
    client = current.settings.client.model_copy(update={"max_retries": 0})
    settings = current.settings.model_copy(update={"client": client})
    with SettingsContext(profile=current.profile, settings=settings):
        yield


def _short(problem: Exception) -> str:
    text = str(problem).strip()
    return f"{type(problem).__name__}: {text[:200]}" if text else type(problem).__name__
