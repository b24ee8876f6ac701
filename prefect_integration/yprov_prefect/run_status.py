"""A run's or a step's status as Prefect decides it, from what the body did (no API call).

Prefect's engines decide the final state of a flow or task run from the body's outcome
(`handle_success`, `handle_exception`, `handle_timeout`, `handle_crash`):

* an exception makes it Failed; a body cancelled by its `timeout_seconds` is Failed too (Prefect
  reports "Task run exceeded timeout of 1.0 second(s)", where the body saw only a
  `CancelledError`); any other `BaseException` (an interrupt, a termination signal) Crashed;
* a returned value is Completed, unless it is a State or a non-empty list, tuple or set of
  States (`prefect.states.return_value_to_state`): a State the user made (`Failed(...)`) is
  taken as it is, others (`task(return_state=True)`) are aggregated by `StateGroup`: all
  completed is Completed, any cancelled Cancelled, any paused Paused, else Failed. A flow's
  engine first waits for the futures in what the flow returned (`resolve_futures_to_states`).

What Prefect does next (the server refuses the state, the run is cancelled, the server is gone)
is for the flow hooks and the flow's end to tell (`flow_run.py`).
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect.client.schemas.objects import State
from prefect.exceptions import PrefectSignal
from prefect.futures import PrefectFuture, resolve_futures_to_states
from prefect.states import StateGroup, is_state_iterable

from yprov_workflows.records import Status

if TYPE_CHECKING:
    from yprov_prefect.task_attempt import Outcome

STATUS_OF_TYPE: dict[str, Status] = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "CRASHED": "crashed",
    "CANCELLED": "cancelled",
    "CANCELLING": "cancelled",  # the state `on_cancellation` hooks see
}
TIMEOUT_SLACK_S = 1.0  # the engine starts its timeout a moment before the body (our clock) starts


@dataclass(frozen=True)
class Ending:
    """How a body ended, as Prefect will report it: a status and, unless completed, why."""

    status: Status
    error: str | None = None


@dataclass(frozen=True)
class Limit:
    """A run's `timeout_seconds` and how Prefect words exceeding it (`Task run`, `Flow run`)."""

    seconds: float | None
    what: str
    elapsed_s: float

    def exceeded(self, error: BaseException) -> str | None:
        """Prefect's message when `error` is this run's timeout cancelling the body."""
        if self.seconds is None or not isinstance(error, asyncio.CancelledError):
            return None
        if self.elapsed_s + TIMEOUT_SLACK_S < self.seconds:
            return None  # cancelled well before its timeout: not by it
        kind = self.what.title().replace(" ", "")  # TaskRun, FlowRun
        return f"{kind}TimeoutError: {self.what} exceeded timeout of {self.seconds} second(s)"


COMPLETED = Ending("completed")


def ending(outcome: Outcome, limit: Limit, futures: bool = False) -> Ending:
    """How the body ended; `futures`: wait for the futures it returned, as a flow's engine does."""
    if outcome.error is not None:
        return _raised(outcome.error, limit)
    if not outcome.has_result:
        return COMPLETED
    return _returned(_resolved(outcome.result) if futures else outcome.result)


def of_state(state: Any) -> Status:
    """The status of one of Prefect's states (not final ones: `incomplete`)."""
    kind = getattr(state, "type", None)
    return STATUS_OF_TYPE.get(str(getattr(kind, "value", kind)), "incomplete")


def error_text(error: BaseException) -> str:
    """The exception's last line, as a traceback shows it (at most 1000 characters)."""
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
    return message.splitlines()[-1][:1000] if message else type(error).__name__


def _raised(error: BaseException, limit: Limit) -> Ending:
    timed_out = limit.exceeded(error)
    if timed_out is not None:
        return Ending("failed", timed_out)
    if isinstance(error, Exception):
        return Ending("failed", error_text(error))
    if isinstance(error, PrefectSignal):  # Pause, Abort: the run goes on elsewhere, or later
        return Ending("incomplete", error_text(error))
    return Ending("crashed", error_text(error))


def _returned(value: Any) -> Ending:
    if isinstance(value, State):
        details = value.state_details
        if not (details.flow_run_id or details.task_run_id):  # made by the user: as it is
            return _of_states(of_state(value), [value])
        return _aggregate([value])
    if _first_item_is(value, State) and is_state_iterable(value):
        return _aggregate(list(value))
    return COMPLETED


def _aggregate(states: list[Any]) -> Ending:
    group = StateGroup(states)
    if group.all_completed():
        return COMPLETED
    if group.any_cancelled():
        return _of_states("cancelled", states)
    return _of_states("incomplete" if group.any_paused() else "failed", states)


def _of_states(status: Status, states: list[Any]) -> Ending:
    if status == "completed":
        return COMPLETED
    bad = [s for s in states if of_state(s) != "completed"]
    first = bad[0] if bad else states[0]
    text = f"{first.name}: {first.message}" if first.message else str(first.name)
    if len(states) > 1:
        text = f"{len(bad)}/{len(states)} states not completed; {text}"
    return Ending(status, text[:1000])


def _resolved(value: Any) -> Any:
    """The futures a flow returned (itself, or the items of a list, tuple, set or dict) waited
    for and replaced by their states, as the engine does next; anything else as it is."""
    if isinstance(value, PrefectFuture) or _first_item_is(value, PrefectFuture | State):
        return resolve_futures_to_states(value)
    return value


def _first_item_is(value: Any, kind: Any) -> bool:
    """Whether `value` is a non-empty list, tuple, set or dict whose first item (value) is of
    `kind`: a cheap look, where checking every item of a big result would not be."""
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return False
    return bool(items) and isinstance(next(iter(items)), kind)
