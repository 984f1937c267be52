"""The records the store returns: snapshots, notes and decisions, and their rows.

Each record is a frozen dataclass with ``to_dict`` (for JSON) and a one-line
``__str__``; the ``*_COLUMNS`` strings and ``*_from_row`` functions map the SQLite rows
of `abkit.store.database`'s tables to them, column for column.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from abkit.errors import StoreError

Decision = Literal["ship", "iterate", "stop", "extend"]
DECISIONS: tuple[str, ...] = get_args(Decision)

SNAPSHOT_COLUMNS = (
    "id, experiment, config_hash, window_start, window_end, engine, created_at,"
    " abkit_version, payload"
)
NOTE_COLUMNS = "id, experiment, author, text, metric, created_at"
DECISION_COLUMNS = (
    "id, experiment, decision, rationale, author, created_at, config_hash"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One stored analysis: the results dict and where it came from."""

    id: int
    experiment: str
    config_hash: str
    window_start: str | None
    window_end: str | None
    engine: str
    created_at: dt.datetime
    abkit_version: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (``created_at`` as an ISO-8601 string)."""
        return _record_dict(self)

    def __str__(self) -> str:
        window = f"{self.window_start or '…'} – {self.window_end or '…'}"
        return f"#{self.id} {_stamp(self.created_at)} {self.experiment} [{window}]"


@dataclass(frozen=True, slots=True)
class Note:
    """A discussion note on an experiment, optionally about one metric."""

    id: int
    experiment: str
    author: str
    text: str
    metric: str | None
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (``created_at`` as an ISO-8601 string)."""
        return _record_dict(self)

    def __str__(self) -> str:
        about = f" on {self.metric}" if self.metric else ""
        return f"{_stamp(self.created_at)} {self.author}{about}: {self.text}"


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision taken on an experiment, with its rationale."""

    id: int
    experiment: str
    decision: Decision
    rationale: str
    author: str
    created_at: dt.datetime
    config_hash: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (``created_at`` as an ISO-8601 string)."""
        return _record_dict(self)

    def __str__(self) -> str:
        head = f"{_stamp(self.created_at)} {self.author}: {self.decision}"
        return f"{head} — {self.rationale}"


def snapshot_from_row(row: tuple[Any, ...], path: Path) -> Snapshot:
    """The snapshot of a `SNAPSHOT_COLUMNS` row, its payload parsed from JSON."""
    try:
        payload = json.loads(row[8])
    except ValueError as exc:
        raise StoreError(
            f"{path}: snapshot {row[0]} holds invalid JSON ({exc}); restore the file"
            " from a backup"
        ) from exc
    snapshot_id, experiment, config_hash, start, end, engine, created, version = row[:8]
    return Snapshot(
        snapshot_id, experiment, config_hash, start, end, engine,
        _parse_time(created), version, payload,
    )  # fmt: skip


def note_from_row(row: tuple[Any, ...]) -> Note:
    """The note of a `NOTE_COLUMNS` row."""
    note_id, experiment, author, text, metric, created = row
    return Note(note_id, experiment, author, text, metric, _parse_time(created))


def decision_from_row(row: tuple[Any, ...]) -> DecisionRecord:
    """The decision of a `DECISION_COLUMNS` row."""
    decision_id, experiment, decision, rationale, author, created, config_hash = row
    return DecisionRecord(
        decision_id, experiment, decision, rationale, author,
        _parse_time(created), config_hash,
    )  # fmt: skip


def _record_dict(record: Snapshot | Note | DecisionRecord) -> dict[str, Any]:
    values = {field.name: getattr(record, field.name) for field in fields(record)}
    return values | {"created_at": record.created_at.isoformat()}


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
