"""Prefect logs two INFO lines around every hook call ("Running hook ...", "Hook ... finished
running successfully") and ships them to the API. For our hooks (the flow's `record_final_state`,
the cache-hit hook of tasks made to be cached) they are plumbing in the user's logs:
`quiet_hook_logs` drops those two lines for one hook of ours (its errors are still logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any


class _DropOurHookLines(logging.Filter):
    """Drops Prefect's INFO lines about calling one of our hooks."""

    def __init__(self, hook: Callable[..., Any]) -> None:
        super().__init__()
        self.mark = f"{hook.__name__!r}"

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or self.mark not in str(record.msg)


def quiet_hook_logs(logger_name: str, hook: Callable[..., Any]) -> None:
    """Install the filter for `hook` on Prefect's flow-run (or task-run) logger, once per
    process; called where a flow or task with our hook is made, and where a worker unpickles a
    task of ours."""
    logger = logging.getLogger(logger_name)
    ours = _DropOurHookLines(hook)
    if not any(isinstance(f, _DropOurHookLines) and f.mark == ours.mark for f in logger.filters):
        logger.addFilter(ours)
