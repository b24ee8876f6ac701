"""What the query commands print: results as lines and tables, and as JSON.

A `Table` is drawn by the CLI: with `rich` on a terminal, as plain aligned columns when piped
(`plain_table`). JSON output (`as_json`) is the results' dataclasses as objects; numbers that are
not finite become strings, so the output is always valid JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from yprov_workflows.query.diff import Change, RunDiff, UsageDelta
from yprov_workflows.query.lineage import Lineage, Node
from yprov_workflows.query.show import RunSummary, StepRow
from yprov_workflows.query.verify import Verification

MAX_LISTED = 12
"""Lists in one line (a step's inputs, a critical path) show at most this many items."""


@dataclass(frozen=True)
class Table:
    """Rows of text cells; `right` are the indexes of right-aligned (numeric) columns."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()


Block = str | Table


def as_json(result: Any) -> str:
    """A result (dataclasses, tuples, dicts, numbers) as indented JSON text."""
    return json.dumps(_jsonable(result), indent=2, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a named tuple (Edge)
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def plain_table(table: Table) -> Iterator[str]:
    """The table as aligned columns of plain text, its title first."""
    cells = [list(table.columns), *[list(r) for r in table.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    yield table.title
    for row in cells:
        parts = [
            c.rjust(w) if i in table.right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        yield "  " + "  ".join(parts).rstrip()


# Units


def duration(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 100:
        return f"{value:.2f} s"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {secs} s"


def size(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def energy(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} kJ" if abs(value) >= 10_000 else f"{value:.1f} J"


def listed(items: Sequence[str], limit: int = MAX_LISTED) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items) - limit} more)"


# show


def show_blocks(summary: RunSummary, limit: int | None) -> Iterator[Block]:
    """What `yprov show` prints: `limit` steps at most in the step table (None: all)."""
    yield summary.headline
    engine = " ".join(p for p in (summary.engine, summary.engine_version) if p) or "unknown"
    yield f"engine {engine}; wall time {duration(summary.duration_s)}"
    rows = summary.steps if limit is None else summary.steps[:limit]
    if rows:
        yield _step_table(rows, len(summary.steps))
    if len(rows) < len(summary.steps):
        yield _name_table(summary)
    yield summary.totals
    yield summary.energy
    yield from _critical_path(summary)
    yield from summary.tracked


def _step_table(rows: Sequence[StepRow], total: int) -> Table:
    more = (
        f" (the first {len(rows)} of {total}: --all lists every one)" if len(rows) < total else ""
    )
    return Table(
        f"steps, failed first{more}",
        ("status", "step", "attempt", "duration", "CPU", "peak RSS", "energy"),
        tuple(
            (
                r.status,
                r.label,
                str(r.attempt),
                duration(r.duration_s),
                duration(r.cpu_s),
                size(r.max_rss_bytes),
                energy(r.energy_j),
            )
            for r in rows
        ),
        frozenset({2, 3, 4, 5, 6}),
    )


def _name_table(summary: RunSummary) -> Table:
    return Table(
        "steps by name",
        ("step", "steps", "failed", "duration", "CPU", "peak RSS", "energy"),
        tuple(
            (
                n.name,
                str(n.steps),
                str(n.failed),
                duration(n.duration_s),
                duration(n.cpu_s),
                size(n.max_rss_bytes),
                energy(n.energy_j),
            )
            for n in summary.by_name
        ),
        frozenset({1, 2, 3, 4, 5, 6}),
    )


def _critical_path(summary: RunSummary) -> Iterator[str]:
    path = summary.critical_path
    if not path.steps:
        return
    labels = list(path.labels)
    if len(labels) > MAX_LISTED:
        labels = [*labels[:5], f"... ({len(labels) - 10} more)", *labels[-5:]]
    yield (
        f"critical path: {len(path.steps)} steps, {duration(path.busy_s)} busy over "
        f"{duration(path.span_s)}: " + " -> ".join(labels)
    )


# lineage


def lineage_lines(result: Lineage) -> Iterator[str]:
    """Each step of the lineage, nearest first, with what it used (upstream) or generated
    (downstream) within the lineage."""
    by_id = {n.id: n for n in result.nodes}
    targets = [by_id[t] for t in result.targets if t in by_id]
    direction = "upstream" if result.direction == "up" else "downstream"
    counts = _counts(result.nodes)
    yield f"{direction} of {listed([_named(t) for t in targets], 4)}: {counts}"
    attached = _attached(result)
    for node in result.nodes:
        if node.kind == "step":
            yield f"  [{node.depth}] {node.label} ({node.details.get('status', '?')})"
            yield from _attached_lines(attached.get(node.id, {}), by_id)


def _named(node: Node) -> str:
    return f"{node.kind} {node.label}"


def _counts(nodes: Iterable[Node]) -> str:
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.kind] = counts.get(node.kind, 0) + 1
    if not counts:
        return "nothing"
    return ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(counts.items()))


_WORDS = {"used": "used", "wasInformedBy": "informed by", "wasStartedBy": "started by"}


def _attached(result: Lineage) -> dict[str, dict[str, list[str]]]:
    """Step -> relation word -> the entities it used or generated, within the lineage."""
    found: dict[str, dict[str, list[str]]] = {}
    for source, target, relation, _ in result.edges:
        if relation == "wasGeneratedBy":
            step, word, other = target, "generated", source
        else:
            step, word, other = source, _WORDS.get(relation, relation), target
        words = found.get(step)
        if words is None:
            found[step] = {word: [other]}
        elif word in words:
            words[word].append(other)
        else:
            words[word] = [other]
    return found


def _attached_lines(attached: dict[str, list[str]], by_id: dict[str, Node]) -> Iterator[str]:
    for word, idents in attached.items():
        labels = [by_id[i].label for i in dict.fromkeys(idents) if i in by_id]
        if labels:
            yield f"      {word}: {listed(labels)}"


# diff


def diff_lines(result: RunDiff) -> Iterator[str]:
    yield f"run {result.a or '?'} -> run {result.b or '?'}"
    for change in result.run_changes:
        yield f"  {_change(change)}"
    yield (
        f"steps: {result.matched} matched, {len(result.added)} added, "
        f"{len(result.removed)} removed, {sum(1 for s in result.steps if s.changes)} changed"
    )
    for label in result.removed:
        yield f"  removed: {label}"
    for label in result.added:
        yield f"  added: {label}"
    for step in (s for s in result.steps if s.changes):
        yield f"  {step.label}: " + "; ".join(_change(c, named=False) for c in step.changes)
        if step.downstream:
            yield f"    downstream: {listed(list(step.downstream))}"
    yield from _usage_lines(result)
    yield _verdict(result)


def _change(change: Change, named: bool = True) -> str:
    before, after = _value(change.before), _value(change.after)
    what = f"{change.kind} {change.name}" if change.kind != change.name else change.kind
    if not named and change.kind in ("code", "status"):
        what = change.kind
    return f"{what}: {before} -> {after}"


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a sha256
    if isinstance(value, str) and value.startswith("sha256:"):
        return value[:19]
    return json.dumps(value) if isinstance(value, list) else _shown(value)


def _shown(value: Any) -> str:
    result = " ".join(str(value).split())
    return result if len(result) <= 60 else result[:57] + "..."


def _usage_lines(result: RunDiff) -> Iterator[str]:
    deltas = [("run", d) for d in result.usage]
    deltas += [(s.label, d) for s in result.steps for d in s.usage]
    if not deltas:
        return
    yield "usage (changes above 10 % and 0.1 s / 1 MiB / 1 J; not differences):"
    for label, delta in deltas[:50]:
        yield f"  {label}: {_delta(delta)}"
    if len(deltas) > 50:
        yield f"  ... ({len(deltas) - 50} more; --json lists every one)"


def _delta(delta: UsageDelta) -> str:
    shown = {"s": duration, "bytes": size, "J": energy}[delta.unit]
    change = f"{delta.relative:+.0%}" if math.isfinite(delta.relative) else "new"
    return f"{delta.figure} {shown(delta.before)} -> {shown(delta.after)} ({change})"


def _verdict(result: RunDiff) -> str:
    if result.identical:
        return "the runs are the same (usage and times aside)"
    changed = sum(1 for s in result.steps if s.changes)
    return (
        f"the runs differ: {len(result.run_changes)} run-level changes, {changed} changed steps, "
        f"{len(result.added)} added, {len(result.removed)} removed"
    )


# verify


def verify_lines(result: Verification) -> Iterator[str]:
    for check in result.problems:
        where = f" (looked for {check.location})" if check.location != check.path else ""
        if check.state == "changed":
            found = (check.found_sha256 or "?")[:12]
            yield f"{check.path}: changed (recorded {check.recorded_sha256[:12]}, now {found})"
        else:
            yield f"{check.path}: {check.state}{where}"
    states = [f.state for f in result.files]
    counts = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states)) or "none"
    unhashed = f"; {result.unhashed} recorded without a hash" if result.unhashed else ""
    yield (
        f"{len(states)} files checked in {result.workdir}: {counts}{unhashed} "
        f"({size(result.bytes_read)} read; {result.from_cache} known from the hash cache)"
    )
