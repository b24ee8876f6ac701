"""Secrets: which names look secret, hiding their values at any depth, and scrubbing every hidden
value from all other text the recorder writes (commands, command lines, errors, previews).

A name looks secret when one of its words (split at non-alphanumerics and at camelCase
boundaries), with one trailing "s" removed, is one of `SECRET_WORDS`, or ends with one of
`SECRET_SUFFIXES` (run-together names such as "apikey" or "accesstoken"); users add regular
expressions (`YPROV_SECRET_NAMES`, matched anywhere in the name, case-insensitive).

A `Redactor` replaces the values of such names by `[redacted]` in mappings at any depth (config
sections, dict arguments) and remembers the text of each value it hid, and of secret-looking
environment variables, so that `scrub_record` can replace them wherever else they appear. Values
shorter than `MIN_SCRUB_CHARS` are hidden where they are named but not searched for elsewhere: a
short value would match unrelated text.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from yprov_workflows.fastjson import string_forms
from yprov_workflows.structured import fields_of

REDACTED = "[redacted]"
SECRET_WORDS = frozenset({"token", "password", "passwd", "pwd", "secret", "key", "credential"})
SECRET_SUFFIXES = (
    "token",
    "password",
    "secret",
    "credential",
    "credentials",
    "apikey",
    "accesskey",
)
MIN_SCRUB_CHARS = 6
# Environment variables whose names match the rules but never hold a secret (`pwd`: the shell's
# working directory, not a password).
NOT_SECRET_ENVIRONMENT = frozenset({"PWD", "OLDPWD"})
MAX_DEPTH = 20
# Well-known shapes of credentials, for values that carry no name (a task's returned value).
TOKEN_SHAPES = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:"
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"  # AWS access key ids
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|sk-[A-Za-z0-9_-]{16,}"  # OpenAI-style secret keys
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JSON Web Tokens
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r")"
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

R = TypeVar("R")


def looks_secret(name: str, extra: Iterable[re.Pattern[str]] = ()) -> bool:
    """True when a parameter, config or variable name suggests it holds a secret."""
    words = [w.lower() for w in _WORD_SPLIT.split(name) if w]
    if any(w.rstrip("s") in SECRET_WORDS or w.endswith(SECRET_SUFFIXES) for w in words):
        return True
    return any(pattern.search(name) for pattern in extra)


def looks_like_token(text: str) -> bool:
    """True when a text holds something shaped like a well-known credential."""
    return TOKEN_SHAPES.search(text) is not None


def compile_names(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """User-given name patterns, as case-insensitive regular expressions."""
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns if p)


_MAX_VERDICTS = 10_000


class Redactor:
    """Hides values of secret-looking names and scrubs the hidden values from other text.

    Thread-safe: Snakemake records jobs from several threads. `enabled=False` (the user's
    `--yprov-no-redact` / `YPROV_REDACT=0`) turns both off.
    """

    def __init__(self, extra_names: Iterable[str] = (), enabled: bool = True) -> None:
        self.enabled = enabled
        self._names = compile_names(extra_names)
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._in_json: re.Pattern[bytes] | None = None
        self._lock = threading.Lock()
        self._verdicts: dict[str, bool] = {}  # names seen (the same few, for every task)

    def is_secret_name(self, name: str) -> bool:
        if not self.enabled:
            return False
        verdict = self._verdicts.get(name)
        if verdict is None:
            verdict = looks_secret(name, self._names)
            if len(self._verdicts) < _MAX_VERDICTS:
                self._verdicts[name] = verdict
        return verdict

    # -- hiding -------------------------------------------------------------------------------

    def hide(self, name: str, value: Any) -> Any:
        """`value`, or `[redacted]` when `name` looks secret; secret keys inside mappings and
        sequences are hidden at any depth. The hidden values are remembered for scrubbing."""
        if self.is_secret_name(name):
            self.remember(value)
            return REDACTED
        return self.hide_inside(value)

    def hide_inside(self, value: Any, depth: int = 0) -> Any:
        """A copy of `value` with the values of secret-looking keys hidden, at any depth. A
        structured object (a dataclass, pydantic model, ...: `structured.fields_of`) becomes the
        dict of its fields, hidden as a dict's keys are."""
        if not self.enabled or depth > MAX_DEPTH:
            return value
        if isinstance(value, Mapping):
            return {k: self._hide_item(k, v, depth) for k, v in value.items()}
        fields = fields_of(value)
        if fields is not None:
            return {k: self._hide_item(k, v, depth) for k, v in fields.items()}
        if isinstance(value, list | tuple) and _nested(value):
            items = [self.hide_inside(v, depth + 1) for v in value]
            return items if isinstance(value, list) else tuple(items)
        return value

    def _hide_item(self, key: Any, value: Any, depth: int) -> Any:
        if isinstance(key, str) and self.is_secret_name(key):
            self.remember(value)
            return REDACTED
        return self.hide_inside(value, depth + 1)

    def remember(self, value: Any, depth: int = 0) -> None:
        """Scrub the text of `value` (each scalar inside it, for containers) from now on."""
        if depth > MAX_DEPTH or value is None or isinstance(value, bool):
            return
        fields = fields_of(value)
        if isinstance(value, Mapping) or fields is not None:
            for item in (value if fields is None else fields).values():
                self.remember(item, depth + 1)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                self.remember(item, depth + 1)
        else:
            self._add(value if isinstance(value, str) else str(value))

    def remember_environment(self, environ: Mapping[str, str]) -> None:
        """Scrub the values of secret-looking environment variables."""
        for name, value in environ.items():
            if name not in NOT_SECRET_ENVIRONMENT and self.is_secret_name(name):
                self._add(value)

    def _add(self, text: str) -> None:
        if not self.enabled or len(text) < MIN_SCRUB_CHARS or text == REDACTED:
            return
        with self._lock:
            if text not in self._secrets:
                self._secrets.add(text)
                self._pattern = self._in_json = None

    # -- scrubbing ----------------------------------------------------------------------------

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """One alternation of every remembered value, longest first; None when there is none."""
        with self._lock:
            if self._pattern is None and self._secrets:
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            return self._pattern

    def found_in(self, line: bytes) -> bool:
        """Whether a record's JSON line (as the journal writes it, `fastjson.encoded`) holds a
        remembered value: one regular-expression search, so that only such records are walked."""
        with self._lock:
            if self._in_json is None and self._secrets:
                escaped = {form for s in self._secrets for form in string_forms(s)}
                ordered = sorted(escaped, key=len, reverse=True)
                self._in_json = re.compile(b"|".join(re.escape(s) for s in ordered))
            in_json = self._in_json
        return in_json is not None and in_json.search(line) is not None

    def scrub(self, text: str) -> str:
        pattern = self.pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    def scrub_record(self, record: R) -> R:
        """A copy of a record (a dataclass, at any depth) with every remembered value replaced
        in every string; the record itself when nothing needs replacing."""
        pattern = self.pattern
        if pattern is None:
            return record
        scrubbed: R = _Scrubber(pattern).value(record)
        return scrubbed


@dataclass(frozen=True)
class _Scrubber:
    pattern: re.Pattern[str]

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.pattern.sub(REDACTED, value) if self.pattern.search(value) else value
        if value is None or isinstance(value, bool | int | float | datetime):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self.value(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
            return dataclasses.replace(value, **changes)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, tuple | list):
            items = [self.value(v) for v in value]
            return items if isinstance(value, list) else tuple(items)
        return value


def _nested(values: Iterable[Any]) -> bool:
    return any(isinstance(v, Mapping | list | tuple) or fields_of(v) is not None for v in values)
