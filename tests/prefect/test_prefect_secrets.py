"""Prefect: secrets in task and flow parameters at any depth, in returned values and in errors
never reach the journal or the document; result previews can be switched off."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pydantic
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


@dataclass
class Credentials:
    user: str
    api_key: str


class Warehouse(pydantic.BaseModel):
    host: str
    password: str
    pool: dict[str, int] = {"size": 4}


@prov_task
def load_with(creds: Credentials, warehouse: Warehouse) -> Credentials:
    return Credentials(creds.user, "returned-key-5150")


@prov_flow
def structured_flow(creds: Credentials, warehouse: Warehouse) -> str:
    return load_with(creds, warehouse).user


def test_dataclass_and_pydantic_parameters_show_their_fields_and_hide_secret_ones(
    workdir: Path,
) -> None:
    """A flow parameter typed by a pydantic model (or a dataclass) was written as its repr,
    secret fields in clear; a task argument of that kind was only its type name."""
    secrets = ("dc-key-3141", "wh-pw-2718", "returned-key-5150")
    creds = Credentials("alice", "dc-key-3141")
    assert structured_flow(creds, Warehouse(host="db", password="wh-pw-2718")) == "alice"
    written = _written(workdir)
    assert not [s for s in secrets if s in written]
    run = RunDocument.latest(workdir)
    run.assert_valid()
    assert json.loads(run.run["config:creds"]) == {"api_key": "[redacted]", "user": "alice"}
    assert json.loads(run.run["config:warehouse"]) == {
        "host": "db",
        "password": "[redacted]",
        "pool": {"size": 4},
    }
    (step,) = run.steps("load_with")
    params = run.params_of(step)
    assert json.loads(params["creds"]) == {"api_key": "[redacted]", "user": "alice"}
    assert json.loads(params["warehouse"])["password"] == "[redacted]"
    (result,) = [
        e for e in run.doc["entity"].values() if e.get("prov:label") == "result of load_with"
    ]
    assert json.loads(result["prov:value"]) == {"api_key": "[redacted]", "user": "alice"}
