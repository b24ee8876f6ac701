"""Prefect: secrets in task and flow parameters at any depth, in returned values and in errors
never reach the journal or the document; result previews can be switched off."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.testing import RunDocument

ENV_TOKEN = "envtok-4242-abcdef"
SECRETS = ("nested-pw-2024", "flow-api-key-99", ENV_TOKEN, "result-pw-777")


@prov_task
def connect(settings: dict[str, object], retries: int = 1) -> dict[str, str]:
    return {"user": "alice", "password": "result-pw-777"}


@prov_task
def leak_env() -> str:
    return os.environ["MY_TOKEN"]


@prov_task
def fail_with(settings: dict[str, object]) -> None:
    raise ValueError(f"cannot connect with {settings['db']}")  # type: ignore[index]


@prov_flow
def secret_flow(api_key: str = "flow-api-key-99") -> None:
    settings: dict[str, object] = {"db": {"host": "x", "password": "nested-pw-2024"}}
    connect(settings)
    leak_env()
    with contextlib.suppress(ValueError):
        fail_with(settings)


def _written(workdir: Path) -> str:
    files = (p for p in (workdir / ".yprov").rglob("*") if p.is_file())
    return "\n".join(p.read_text(errors="replace") for p in files)


def test_secrets_at_any_depth_results_and_errors_are_scrubbed(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_TOKEN", ENV_TOKEN)
    secret_flow()
    written = _written(workdir)
    assert not [s for s in SECRETS if s in written]
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (failed,) = run.steps("fail_with")
    assert "[redacted]" in failed["ywf:error"]
    assert len(run.steps("connect")) == 1
    results = [e for e in run.doc["entity"].values() if e.get("prov:label") == "result of connect"]
    assert '"password": "[redacted]"' in results[0]["prov:value"]
    assert run.run.get("ywf:status") is not None


@prov_task
def answer() -> dict[str, int]:
    return {"answer": 42}


@prov_flow
def answer_flow() -> None:
    answer()


def test_result_previews_can_be_switched_off(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YPROV_RESULT_PREVIEWS", "0")
    answer_flow()
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (result,) = [e for e in run.doc["entity"].values() if e.get("prov:label") == "result of answer"]
    assert "prov:value" not in result and result["ywf:type"] == "dict" and result["ywf:size"] == 1
