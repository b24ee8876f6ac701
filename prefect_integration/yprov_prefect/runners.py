"""Task runners that keep the upstream edges Prefect's own runners lose.

`ProcessPoolTaskRunner` resolves futures to plain values in the parent before the task runs in a
child process, where Prefect then finds no upstream task runs in the parameters. This subclass
collects them in the parent, where the futures still are, and hands them over as `dependencies`
(Prefect joins those into the task run's `task_inputs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner
from prefect.utilities.engine import collect_task_run_inputs_sync


class ProvProcessPoolTaskRunner(ProcessPoolTaskRunner):
    """`ProcessPoolTaskRunner` whose task runs keep their upstream task-run inputs."""

    def submit(
        self,
        task: Any,
        parameters: dict[str, Any],
        wait_for: Iterable[Any] | None = None,
        dependencies: dict[str, set[Any]] | None = None,
    ) -> Any:
        wait_for = list(wait_for) if wait_for is not None else None
        found: dict[str, set[Any]] = {
            name: set(collect_task_run_inputs_sync(value)) for name, value in parameters.items()
        }
        if wait_for:
            found["wait_for"] = set(collect_task_run_inputs_sync(wait_for))
        for name, extra in (dependencies or {}).items():
            found[name] = found.get(name, set()) | set(extra)
        return super().submit(task, parameters, wait_for, found)
