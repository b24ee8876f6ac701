"""Secrets: names that look secret, hiding at any depth, scrubbing hidden values everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from yprov_workflows.describe import describe
from yprov_workflows.errors import ConfigError
from yprov_workflows.journal import read_journal
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Agents, Code, RunStart, StepRecord
from yprov_workflows.redaction import REDACTED, Redactor, looks_like_token, looks_secret
from yprov_workflows.settings import Settings
from yprov_workflows.values import typed_mapping

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["api_token", "password", "DB_PASSWORD", "apiKey", "secret", "credentials", "accesstoken"],
)
def test_secret_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["host", "tokenizer_path", "keyboard", "n_epochs", "monkey"])
def test_plain_names(name: str) -> None:
    assert not looks_secret(name)


def test_users_add_name_patterns() -> None:
    redactor = Redactor(["^pin$", "otp"])
    assert redactor.is_secret_name("pin") and redactor.is_secret_name("OTP_CODE")
    assert not redactor.is_secret_name("spinner")


def test_bad_pattern_is_a_config_error_that_names_the_fix() -> None:
    with pytest.raises(ConfigError, match="regular expression"):
        Settings.from_env({"YPROV_SECRET_NAMES": "a(b"})


def test_secrets_are_hidden_at_any_depth_and_scrubbed_elsewhere() -> None:
    redactor = Redactor()
    config = {"db": {"host": "x", "password": "nestedpw-777"}, "list": [{"apiKey": "k-123456"}]}
    typed = typed_mapping(config, redactor)
    assert typed["db"] == '{"host":"x","password":"[redacted]"}'
    assert "k-123456" not in str(typed["list"])
    assert (
        redactor.scrub("mysql -p nestedpw-777 and k-123456")
        == f"mysql -p {REDACTED} and {REDACTED}"
    )


def test_a_secret_named_container_is_hidden_whole_and_each_value_scrubbed() -> None:
    redactor = Redactor()
    assert redactor.hide("credentials", {"user": "alice-admin", "pw": "hunter22"}) == REDACTED
    assert redactor.scrub("alice-admin:hunter22") == f"{REDACTED}:{REDACTED}"


def test_short_values_are_hidden_by_name_but_not_searched_elsewhere() -> None:
    redactor = Redactor()
    assert redactor.hide("token", "abc") == REDACTED
    assert redactor.scrub("abc def") == "abc def"


def test_environment_secrets_are_scrubbed() -> None:
    redactor = Settings().redactor({"GITHUB_TOKEN": "ghp_" + "a" * 36, "HOME": "/home/me"})
    assert redactor.scrub("token ghp_" + "a" * 36) == f"token {REDACTED}"
    assert redactor.scrub("/home/me") == "/home/me"


def test_disabled_redactor_keeps_everything() -> None:
    redactor = Settings(redact=False).redactor({"MY_TOKEN": "tok-123456789"})
    assert redactor.hide("token", "tok-123456789") == "tok-123456789"
    assert redactor.scrub("tok-123456789") == "tok-123456789"


def test_scrub_record_reaches_every_string_field() -> None:
    redactor = Redactor()
    redactor.hide("password", "pw-4242-secret")
    step = StepRecord(
        "r",
        "train",
        "k",
        1,
        T0,
        T0,
        "failed",
        params={"msg": "pw-4242-secret"},
        code=Code("shell", text="login -p pw-4242-secret"),
        error="ValueError: bad pw-4242-secret",
    )
    clean = redactor.scrub_record(step)
    assert "pw-4242-secret" not in repr(clean)
    assert clean.started == T0 and clean.params["msg"] == REDACTED


def test_record_without_secrets_is_returned_as_is() -> None:
    step = StepRecord("r", "train", "k", 1, T0, T0, "completed")
    assert Redactor().scrub_record(step) is step


def test_describe_hides_secret_keys_and_credential_shaped_text() -> None:
    redactor = Redactor()
    record = describe({"user": "x", "password": "p-1234567"}, redactor)
    assert "p-1234567" not in str(record.preview) and REDACTED in str(record.preview)
    assert describe("sk-" + "A1b2" * 8).preview == REDACTED
    assert looks_like_token("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc")
    assert describe(42, preview=False).preview is None


def test_recorder_scrubs_before_the_journal(tmp_path: Path) -> None:
    settings = Settings(out_dir=tmp_path)
    recorder = Recorder(settings, tmp_path)
    recorder.redactor.hide("api_token", "sk-LIVE-abc")
    agents = Agents("u", "snakemake", "9", "0")
    recorder.start(RunStart("r1", T0, agents, command_line=("snakemake", "sk-LIVE-abc")))
    step = StepRecord(
        "r1", "h", "k", 1, T0, T0, "completed", code=Code("shell", "echo sk-LIVE-abc")
    )
    recorder.record_step(step)
    recorder.finish("completed")
    journal = (tmp_path / "r1" / "journal.jsonl").read_text()
    assert "sk-LIVE-abc" not in journal
    assert len(read_journal(tmp_path / "r1" / "journal.jsonl").records) == 3


def test_the_shells_working_directory_is_not_a_password() -> None:
    redactor = Settings().redactor(
        {"PWD": "/home/me/project", "OLDPWD": "/home/me", "DB_PWD": "pw-12345678"}
    )
    assert redactor.scrub("/home/me/project/data.csv") == "/home/me/project/data.csv"
    assert redactor.scrub("pw-12345678") == REDACTED
    assert redactor.pattern is not None and redactor.scrub_record("x") == "x"
