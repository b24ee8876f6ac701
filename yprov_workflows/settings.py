"""One typed configuration object. Every field can come from a `YPROV_...` environment variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.errors import ConfigError

ENV_PREFIX = "YPROV_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """How recording behaves.

    - `out_dir`: where run folders go (`YPROV_OUT`); default `.yprov` in the working directory.
    - `strict`: recording errors fail the workflow instead of warning (`YPROV_STRICT`); for tests.
    - `disabled`: record nothing at all (`YPROV_DISABLE=1`).
    - `redact`: replace values whose names look secret (`YPROV_REDACT`, default on).
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
    sample_tick_s: float = 1.0
    series_after_s: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment; explicit non-None overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "out_dir": Path(env[f"{ENV_PREFIX}OUT"]) if env.get(f"{ENV_PREFIX}OUT") else None,
            "strict": _flag(env, "STRICT", False),
            "disabled": _flag(env, "DISABLE", False),
            "redact": _flag(env, "REDACT", True),
            "sample_tick_s": _seconds(env, "SAMPLE_TICK", 1.0),
            "series_after_s": _seconds(env, "SERIES_AFTER", 30.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

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
