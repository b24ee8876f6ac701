"""One typed configuration object. Every field can come from a `YPROV_...` environment variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.errors import ConfigError
from yprov_workflows.redaction import Redactor, compile_names

ENV_PREFIX = "YPROV_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """How recording behaves.

    - `out_dir`: where run folders go (`YPROV_OUT`); default `.yprov` in the working directory.
    - `strict`: recording errors fail the workflow instead of warning (`YPROV_STRICT`); for tests.
    - `disabled`: record nothing at all (`YPROV_DISABLE=1`).
    - `redact`: replace values whose names look secret, at any depth, and scrub those values from
      every other text the recorder writes (`YPROV_REDACT`, default on; see `redaction`).
    - `secret_names`: more regular expressions for secret-looking names, matched anywhere in a
      name, case-insensitive (`YPROV_SECRET_NAMES`, comma-separated, e.g. `^pin$,otp`).
    - `result_previews`: show small values a Prefect task returned (`YPROV_RESULT_PREVIEWS`,
      default on; off: type, size and digest only).
    - `sample_tick_s`: seconds between two samples of a step's gauges (process tree, GPU) by the
      sampler process, after a faster start (`YPROV_SAMPLE_TICK`, default 1; 0 turns the sampler
      off: exact counters only).
    - `series_after_s`: steps that last longer get a time series file (`YPROV_SERIES_AFTER`,
      default 30 seconds).
    """

    out_dir: Path | None = None
    strict: bool = False
    disabled: bool = False
    redact: bool = True
    secret_names: tuple[str, ...] = ()
    result_previews: bool = True
    sample_tick_s: float = 1.0
    series_after_s: float = 30.0

    def __post_init__(self) -> None:
        try:
            compile_names(self.secret_names)
        except re.error as exc:
            raise ConfigError(
                f"secret name pattern {exc.pattern!r} is not a regular expression ({exc}): give "
                "comma-separated Python regular expressions (YPROV_SECRET_NAMES, "
                "--yprov-secret-names), e.g. ^pin$,otp"
            ) from exc

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment; explicit non-None overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "out_dir": Path(env[f"{ENV_PREFIX}OUT"]) if env.get(f"{ENV_PREFIX}OUT") else None,
            "strict": _flag(env, "STRICT", False),
            "disabled": _flag(env, "DISABLE", False),
            "redact": _flag(env, "REDACT", True),
            "secret_names": _patterns(env, "SECRET_NAMES"),
            "result_previews": _flag(env, "RESULT_PREVIEWS", True),
            "sample_tick_s": _seconds(env, "SAMPLE_TICK", 1.0),
            "series_after_s": _seconds(env, "SERIES_AFTER", 30.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def redactor(self, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor for one run: these settings' names, and the values of secret-looking
        environment variables (of `environ`, by default this process's) to scrub."""
        redactor = Redactor(self.secret_names, enabled=self.redact)
        redactor.remember_environment(os.environ if environ is None else environ)
        return redactor

    def resolve_out_dir(self, workdir: Path) -> Path:
        return (workdir / (self.out_dir or ".yprov")).absolute()


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(f"{ENV_PREFIX}{name}")
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a yes/no value: use 1 or 0")


def _patterns(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(f"{ENV_PREFIX}{name}") or ""
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(f"{ENV_PREFIX}{name}")
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e6:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a number of seconds: use e.g. 0.5")
    return value
