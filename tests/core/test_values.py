"""Values become typed and JSON-safe; secret-looking names are redacted."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from yprov_workflows.redaction import Redactor
from yprov_workflows.values import REDACTED, looks_secret, to_value, typed_mapping


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (0.5, 0.5),
        (True, True),
        ("text", "text"),
        (Path("a/b"), "a/b"),
        ([1, Path("x")], '[1,"x"]'),
        ({"b": 2, "a": [1]}, '{"a":[1],"b":2}'),
        (None, "null"),
        (float("nan"), "nan"),
        (b"\x00\x01", "<2 bytes>"),
        (Decimal("1.5"), '"1.5"'),
    ],
)
def test_values_keep_numbers_and_stringify_the_rest(value: object, expected: object) -> None:
    result = to_value(value)
    assert result == expected
    assert type(result) is type(expected)


def test_long_text_is_capped() -> None:
    assert len(str(to_value("x" * 100_000))) < 4200


@pytest.mark.parametrize(
    "name",
    [
        "api_token",
        "apiKey",
        "AWS_SECRET_ACCESS_KEY",
        "db_password",
        "GITHUB_TOKEN",
        "key",
        "private_key",
        "accesstoken",
        "credentials_file",
        "client-secret",
    ],
)
def test_secret_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["lr", "monkey", "tokenizer", "keyword", "epochs", "turkey"])
def test_ordinary_names(name: str) -> None:
    assert not looks_secret(name)


def test_mapping_redacts_by_default_and_can_keep() -> None:
    values = {"password": "hunter2", "lr": 0.1}
    assert typed_mapping(values, Redactor()) == {"password": REDACTED, "lr": 0.1}
    assert typed_mapping(values, Redactor(enabled=False)) == values
