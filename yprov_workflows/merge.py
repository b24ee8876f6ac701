"""Merge journals written elsewhere into a run folder (`yprov export RUN --merge PATH`).

A worker that could not reach a run's folder (a Dask or Ray worker on a host without the shared
filesystem) keeps its records in journals of its own on its side. Copied into the run's
`journals/` folder, they are read with every other writer's journal when the document is
assembled (`journal.read_run_journal`), and their steps replace the placeholders the run's end
wrote for them.

All or nothing: every journal is read and checked before any is copied. A journal that is not
one, is damaged, or holds records of another run stops the merge with one error naming it and
the fix; the run folder is then unchanged.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.errors import JournalError, YProvError
from yprov_workflows.journal import WRITERS, read_journal, read_run_journal
from yprov_workflows.records import Record, RunStart, StepRecord


class MergeError(YProvError):
    """A journal cannot be merged into a run: not a journal, damaged, or another run's."""


@dataclass(frozen=True)
class Merged:
    """What a merge did: the journals copied into the run, and those it held already."""

    copied: tuple[Path, ...]
    present: tuple[Path, ...]


def merge_journals(run_dir: Path, sources: Sequence[Path]) -> Merged:
    """Copy the journals in `sources` (journal files, or folders of them) into `run_dir`'s
    `journals/` folder, after checking that each is whole and belongs to this run."""
    journals = [p for p in _journals(sources) if p.stat().st_size > 0]  # empty: no record
    ids = run_ids(run_dir)
    for path in journals:
        _check(path, ids)
    target = run_dir / WRITERS
    copied: list[Path] = []
    present: list[Path] = []
    for path in journals:
        done = _copy(path, target)
        (copied if done is not None else present).append(done or path)
    return Merged(tuple(copied), tuple(present))


def run_ids(run_dir: Path) -> set[str]:
    """The ids a record of this run may carry: the run's, and those of the flow runs inside it
    (a Prefect subflow's tasks carry their subflow's id)."""
    contents = read_run_journal(run_dir)
    start = next((r for r in contents.records if isinstance(r, RunStart)), None)
    if start is None:
        raise MergeError(f"{run_dir} has no run_start record: not a run to merge into")
    ids = {start.run_id}
    for record in contents.records:
        if isinstance(record, StepRecord):
            ids |= {record.run_id} | ({record.key} if _is_subflow(record) else set())
    return ids


def _is_subflow(step: StepRecord) -> bool:
    return step.attributes.get("kind") == "subflow"


def _journals(sources: Iterable[Path]) -> Iterable[Path]:
    """Each source's journals: a file itself; a folder's `*.jsonl` files, and those of its
    `journals/` folder (a run folder kept on a worker's side)."""
    for source in sources:
        if source.is_file():
            yield source
        elif source.is_dir():
            found = sorted(source.glob("*.jsonl")) + sorted(source.glob(f"{WRITERS}/*.jsonl"))
            if not found:
                raise MergeError(f"{source} holds no journal (*.jsonl); give a journal file")
            yield from found
        else:
            raise MergeError(f"{source} does not exist; give a journal file or a folder of them")


def _check(path: Path, ids: set[str]) -> None:
    damaged: list[str] = []
    try:
        contents = read_journal(path, warn=damaged.append)
    except (JournalError, OSError, UnicodeDecodeError) as problem:
        raise MergeError(f"cannot merge {path}: {problem}") from problem
    if damaged or contents.damaged_lines:
        raise MergeError(f"cannot merge {path}: it is damaged ({_first(damaged)}); repair it")
    foreign = next((r for r in contents.records if not _belongs(r, ids)), None)
    if foreign is not None:
        raise MergeError(
            f"cannot merge {path}: it holds records of run {foreign.run_id}, not of this run "
            f"({', '.join(sorted(ids))}); give the journals of this run"
        )


def _first(messages: list[str]) -> str:
    return messages[0] if messages else "damaged lines"


def _belongs(record: Record, ids: set[str]) -> bool:
    if isinstance(record, StepRecord):
        return record.run_id in ids or (record.parent is not None and record.parent in ids)
    return record.run_id in ids


def _copy(path: Path, target: Path) -> Path | None:
    """Copy one journal into `target` under its own name (another name if a different file has
    it); None when the run holds it already."""
    target.mkdir(parents=True, exist_ok=True)
    name, number = path.name, 1
    while (target / name).exists():
        if filecmp.cmp(target / name, path, shallow=False):
            return None
        name, number = f"{path.stem}-merged-{number}{path.suffix}", number + 1
    partial = target / f".{name}.partial"
    shutil.copyfile(path, partial)
    os.replace(partial, target / name)  # never a half-copied journal under a journal's name
    return target / name
