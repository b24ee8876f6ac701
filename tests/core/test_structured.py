"""Structured objects (dataclasses, pydantic models, attrs classes, named tuples) are recorded by
their fields: their values show, and fields with secret-looking names are hidden, wherever a value
is recorded (flow and rule parameters, task arguments and results, logged parameters)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

import attrs
import pydantic

from yprov_workflows.describe import describe
from yprov_workflows.redaction import Redactor
from yprov_workflows.structured import fields_of, plain_tree
from yprov_workflows.values import typed_mapping


@dataclass
class Optimizer:
    name: str
    lr: float


@dataclass
class TrainConfig:
    epochs: int
    optimizer: Optimizer
    api_key: str
    layers: list[int] = field(default_factory=lambda: [64, 32])


class Database(pydantic.BaseModel):
    host: str
    password: str
    options: dict[str, int] = {"pool": 4}


@attrs.define
class Login:
    user: str
    token: str


class Point(NamedTuple):
    x: int
    secret: str


CONFIG = TrainConfig(3, Optimizer("adam", 0.01), "key-SECRET-1")


def test_fields_of_each_kind_and_nothing_else() -> None:
    assert fields_of(Optimizer("sgd", 0.1)) == {"name": "sgd", "lr": 0.1}
    assert fields_of(Database(host="h", password="p")) == {
        "host": "h",
        "password": "p",
        "options": {"pool": 4},
    }
    assert fields_of(Login("bob", "t")) == {"user": "bob", "token": "t"}
    assert fields_of(Point(1, "s")) == {"x": 1, "secret": "s"}
    for other in (1, "text", [1], (1, 2), {"a": 1}, Optimizer, object()):
        assert fields_of(other) is None


def test_flow_and_rule_parameters_show_fields_and_hide_secret_ones() -> None:
    redactor = Redactor()
    params = typed_mapping(
        {"cfg": CONFIG, "db": Database(host="h", password="pw-SECRET-2"), "who": Login("b", "t")},
        redactor,
    )
    assert json.loads(str(params["cfg"])) == {
        "api_key": "[redacted]",
        "epochs": 3,
        "layers": [64, 32],
        "optimizer": {"lr": 0.01, "name": "adam"},
    }
    assert json.loads(str(params["db"])) == {
        "host": "h",
        "options": {"pool": 4},
        "password": "[redacted]",
    }
    assert json.loads(str(params["who"])) == {"token": "[redacted]", "user": "b"}
    assert "SECRET" not in json.dumps(params)
    # The hidden values are scrubbed from any other text the recorder writes.
    assert "SECRET" not in redactor.scrub("failed with key-SECRET-1 and pw-SECRET-2")


def test_arguments_and_results_are_described_by_their_fields() -> None:
    redactor = Redactor()
    record = describe(CONFIG, redactor)
    assert record.type.endswith("TrainConfig") and record.size == 4
    assert json.loads(str(record.preview))["api_key"] == "[redacted]"
    assert json.loads(str(record.preview))["optimizer"] == {"lr": 0.01, "name": "adam"}
    assert record.digest is not None
    assert (
        describe(Point(2, "s3cr3t-value"), redactor).preview == '{"secret": "[redacted]", "x": 2}'
    )
    nested = {"model": {"layers": [64, 32], "lr": 0.1}, 1: {"a", "b"}, None: (1, 2)}
    assert json.loads(str(describe(nested, redactor).preview)) == {
        "model": {"layers": [64, 32], "lr": 0.1},
        "1": ["a", "b"],
        "null": [1, 2],
    }


class _Untouchable(list[int]):
    """A list whose items must not be looked at (its length is enough to reject it)."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("walked over a container bigger than the budget")


def test_big_or_opaque_values_are_summarised_without_walking_them() -> None:
    assert plain_tree([[1, 2]] * 40, budget=100) is None  # 121 items
    assert plain_tree([object()], budget=100) is None
    assert describe({"rows": list(range(200))}).preview == "<dict of 1 items>"
    assert plain_tree({"rows": _Untouchable(range(1000))}, budget=100) is None
    record = describe({"rows": list(range(1000))}, Redactor())
    assert record.digest is None and record.preview == "<dict of 1 items>"
