"""The results store: per experiment, the history of snapshots, notes and decisions.

One SQLite file (standard library) that PMs (the Streamlit app, many threads) and
analysts (the CLI, other processes) read and write at the same time.

Concurrency and durability:
    * WAL mode: readers never block the writer, and the writer never blocks readers.
    * One connection per `ResultStore`, opened with ``check_same_thread=False`` and
      guarded by a lock, so the threads of one process may share a store (the app keeps
      one in ``st.cache_resource``); calls are serialised within the process. Each
      process opens its own store: one carried across ``fork`` is refused.
    * Every write is one short ``BEGIN IMMEDIATE`` transaction. ``busy_timeout`` waits
      for another writer; a bounded retry with jittered exponential backoff covers the
      busy cases the timeout does not (WAL recovery, a lock held longer than it). A
      retry only follows a rollback, so a write is never applied twice.
    * ``synchronous=FULL``: a write that returned is on disk and survives a kill.
    * "Newest first" means most recently written (descending id), not ``created_at``,
      which can run backwards if a machine's clock is reset.

Schema:
    The version lives in ``PRAGMA user_version``. `_MIGRATIONS` lists the forward steps
    (step *n* turns version *n-1* into *n*); they run in one transaction, so a database
    is either fully migrated or untouched. Released steps are never edited. A database
    written by a newer abkit, a file that is not SQLite, and a SQLite file of another
    application are all refused without being modified.

Payload:
    Stored as JSON text. NaN and ±inf become ``null`` (as `abkit.report.terminal.render_json`
    does: in a result they mean "not computable"), dates and datetimes ISO-8601
    strings, tuples and numpy arrays lists, numpy scalars Python numbers, integer keys
    strings. Anything else is refused before writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, get_args

from abkit.errors import StoreError

Decision = Literal["ship", "iterate", "stop", "extend"]
DECISIONS: tuple[str, ...] = get_args(Decision)
DEFAULT_FILENAME = "abkit.db"

_T = TypeVar("_T")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)
_MAX_ATTEMPTS = 6
_BACKOFF_BASE_S = 0.025
_BACKOFF_CAP_S = 1.0
_MAX_PAYLOAD_DEPTH = 64

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # v1: the first schema
        "CREATE TABLE snapshots (id INTEGER PRIMARY KEY, experiment TEXT NOT NULL,"
        " config_hash TEXT NOT NULL, window_start TEXT, window_end TEXT,"
        " created_at TEXT NOT NULL, abkit_version TEXT NOT NULL,"
        " payload TEXT NOT NULL)",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, experiment TEXT NOT NULL,"
        " author TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL)",
        "CREATE TABLE decisions (id INTEGER PRIMARY KEY, experiment TEXT NOT NULL,"
        " decision TEXT NOT NULL CHECK (decision IN ('ship', 'iterate', 'stop',"
        " 'extend')), rationale TEXT NOT NULL, author TEXT NOT NULL,"
        " created_at TEXT NOT NULL, config_hash TEXT)",
        "CREATE INDEX snapshots_experiment ON snapshots (experiment)",
        "CREATE INDEX notes_experiment ON notes (experiment)",
        "CREATE INDEX decisions_experiment ON decisions (experiment)",
    ),
    (  # v2: a note may be about one metric; a snapshot records the engine that ran it
        "ALTER TABLE notes ADD COLUMN metric TEXT",
        # rows written by v1 did not say which engine ran them
        "ALTER TABLE snapshots ADD COLUMN engine TEXT NOT NULL DEFAULT 'unknown'",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)

_SNAPSHOT_COLUMNS = (
    "id, experiment, config_hash, window_start, window_end, engine, created_at,"
    " abkit_version, payload"
)
_NOTE_COLUMNS = "id, experiment, author, text, metric, created_at"
_DECISION_COLUMNS = (
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


class ResultStore:
    """Snapshots, notes and decisions of experiments in one SQLite file.

    Example::

        with ResultStore("data/examples/abkit.db") as store:
            store.add_note("new_onboarding", "Looks good", author="ana")
            notes = store.notes("new_onboarding")
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 5.0) -> None:
        """Open the store at `path`, creating or migrating it as needed.

        Args:
            path: the database file; created if missing (its directory must exist).
            busy_timeout: seconds one attempt waits for another writer's lock.

        Raises:
            StoreError: the file is not an abkit store, or was written by a newer abkit.
        """
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        _check_path(self.path)
        self._conn: sqlite3.Connection | None = _connect(self.path, busy_timeout)
        try:
            version = self._call(lambda conn: _check_compatible(conn, self.path))
            self._call(lambda conn: _configure(conn, self.path))
            if version < SCHEMA_VERSION:
                self._call(lambda conn: _migrate(conn, self.path), write=True)
        except BaseException:
            self.close()
            raise

    def save_snapshot(
        self,
        experiment: str,
        payload: Mapping[str, Any],
        *,
        config_hash: str,
        window_start: str | None,
        window_end: str | None,
        engine: str,
        abkit_version: str,
    ) -> int:
        """Store one analysis result (e.g. `AnalysisResult.to_dict()`); return its id.

        Raises:
            StoreError: an argument is empty, a window is not ISO-8601, or the payload
                holds a value JSON cannot represent. Nothing is written then.
        """
        where = "ResultStore.save_snapshot"
        _require_text(where, experiment=experiment, config_hash=config_hash)
        _require_text(where, engine=engine, abkit_version=abkit_version)
        _require_window(where, window_start, window_end)
        values = {
            "experiment": experiment,
            "config_hash": config_hash,
            "window_start": window_start,
            "window_end": window_end,
            "engine": engine,
            "created_at": _timestamp()[1],
            "abkit_version": abkit_version,
            "payload": _payload_json(payload),
        }
        return self._call(lambda conn: _insert(conn, "snapshots", values), write=True)

    def snapshots(self, experiment: str, limit: int | None = None) -> list[Snapshot]:
        """Snapshots of `experiment`, newest first, with parsed payloads (≤ `limit`)."""
        _require_text("ResultStore.snapshots", experiment=experiment)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise StoreError(
                f"ResultStore.snapshots: limit {limit!r} is not a positive integer;"
                " pass a count such as 10, or None for all"
            )
        rows = self._select(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE experiment = ?"
            " ORDER BY id DESC LIMIT ?",
            (experiment, -1 if limit is None else limit),
        )
        return [_snapshot_from_row(row, self.path) for row in rows]

    def latest_snapshot(self, experiment: str) -> Snapshot | None:
        """The most recent snapshot of `experiment`, or None if there is none."""
        found = self.snapshots(experiment, limit=1)
        return found[0] if found else None

    def add_note(
        self, experiment: str, text: str, *, author: str, metric: str | None = None
    ) -> Note:
        """Add a discussion note; `text` is stored verbatim (escape it when rendering).

        Raises:
            StoreError: experiment, text, author or metric is empty. Nothing is written.
        """
        where = "ResultStore.add_note"
        _require_text(where, experiment=experiment, text=text, author=author)
        _require_text(where, optional=True, metric=metric)
        created, created_text = _timestamp()
        values = {
            "experiment": experiment,
            "author": author,
            "text": text,
            "metric": metric,
            "created_at": created_text,
        }
        note_id = self._call(lambda conn: _insert(conn, "notes", values), write=True)
        return Note(note_id, experiment, author, text, metric, created)

    def notes(self, experiment: str) -> list[Note]:
        """Notes on `experiment`, newest first."""
        _require_text("ResultStore.notes", experiment=experiment)
        rows = self._select(
            f"SELECT {_NOTE_COLUMNS} FROM notes WHERE experiment = ? ORDER BY id DESC",
            (experiment,),
        )
        return [_note_from_row(row) for row in rows]

    def record_decision(
        self,
        experiment: str,
        decision: Decision,
        *,
        rationale: str,
        author: str,
        config_hash: str | None = None,
    ) -> DecisionRecord:
        """Record a decision (ship, iterate, stop or extend) with its rationale.

        Raises:
            StoreError: the decision is unknown, or an argument is empty. Nothing is
                written then.
        """
        where = "ResultStore.record_decision"
        _require_text(where, experiment=experiment)
        _require_decision(where, decision)
        _require_text(where, rationale=rationale, author=author)
        _require_text(where, optional=True, config_hash=config_hash)
        created, created_text = _timestamp()
        values = {
            "experiment": experiment,
            "decision": decision,
            "rationale": rationale,
            "author": author,
            "created_at": created_text,
            "config_hash": config_hash,
        }
        new_id = self._call(lambda conn: _insert(conn, "decisions", values), write=True)
        return DecisionRecord(
            new_id, experiment, decision, rationale, author, created, config_hash
        )

    def decisions(self, experiment: str) -> list[DecisionRecord]:
        """Decisions on `experiment`, newest first."""
        _require_text("ResultStore.decisions", experiment=experiment)
        rows = self._select(
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE experiment = ?"
            " ORDER BY id DESC",
            (experiment,),
        )
        return [_decision_from_row(row) for row in rows]

    def latest_decision(self, experiment: str) -> DecisionRecord | None:
        """The most recent decision on `experiment`, or None if there is none."""
        found = self.decisions(experiment)
        return found[0] if found else None

    def experiments(self) -> list[str]:
        """Every experiment with a snapshot, note or decision, sorted by name."""
        rows = self._select(
            "SELECT experiment FROM snapshots UNION SELECT experiment FROM notes"
            " UNION SELECT experiment FROM decisions ORDER BY experiment",
            (),
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        """Close the connection; later calls raise StoreError. Safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    def _select(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._call(
            lambda conn: conn.execute(sql, params).fetchall()
        )
        return rows

    def _call(
        self, work: Callable[[sqlite3.Connection], _T], *, write: bool = False
    ) -> _T:
        """Run `work` (in a write transaction if `write`), retrying while busy."""
        attempt = 1
        while True:
            try:
                with self._lock:
                    conn = self._connection()
                    return _in_transaction(conn, work) if write else work(conn)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt >= _MAX_ATTEMPTS:
                    raise _database_error(self.path, exc, attempt) from exc
            except sqlite3.DatabaseError as exc:
                raise _database_error(self.path, exc, attempt) from exc
            # sleep outside the lock, jittered so that competing writers spread out
            time.sleep(
                min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)
                * random.uniform(0.5, 1.0)
            )
            attempt += 1

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(
                f"{self.path}: the results store is closed; open a new ResultStore"
            )
        if os.getpid() != self._pid:
            raise StoreError(
                f"{self.path}: this ResultStore was opened in process {self._pid} and"
                f" used in process {os.getpid()} (after fork); open a new ResultStore"
                " in each process"
            )
        return self._conn


def _check_path(path: Path) -> None:
    """Refuse a directory, a missing directory, or a file that is not SQLite."""
    if path.is_dir():
        raise StoreError(
            f"{path}: is a directory, not a database file; pass a file path such as"
            f" {path / 'abkit.db'}"
        )
    if not path.parent.is_dir():
        raise StoreError(
            f"{path}: directory {path.parent} does not exist; create it or choose"
            " another path for the results store"
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot read the results store ({exc.strerror}); check its"
            " permissions"
        ) from exc
    if head and head != _SQLITE_MAGIC:
        raise StoreError(
            f"{path}: is not a SQLite database (it starts with {head[:8]!r}); it was"
            " left untouched, move it away or choose another path for the results store"
        )


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    try:
        return sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(
            f"{path}: cannot open the results store ({exc}); check the path and its"
            " permissions"
        ) from exc


def _check_compatible(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version, after refusing newer schemas and foreign databases."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: was written by a newer abkit (schema v{version}, this abkit"
            f" knows v{SCHEMA_VERSION}); upgrade abkit to open it (the file was left"
            " untouched)"
        )
    if version == 0:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if tables:
            raise StoreError(
                f"{path}: is a SQLite database of another application (tables:"
                f" {', '.join(tables)}); it was left untouched, choose another path"
                " for the results store"
            )
    return version


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    """WAL mode (persistent, in the file) and FULL sync (per connection)."""
    conn.execute("PRAGMA synchronous = FULL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(
            f"{path}: SQLite could not switch to WAL mode (got {mode!r}); keep the"
            " results store on a local disk, not a network share"
        )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the missing forward steps; runs inside one write transaction."""
    # checked again under the write lock: another process may have moved it on
    found = _check_compatible(conn, path)
    for statement in (s for step in _MIGRATIONS[found:] for s in step):
        conn.execute(statement)
    if found < SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


def _in_transaction(
    conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]
) -> _T:
    """Run `work` in a ``BEGIN IMMEDIATE`` transaction; roll back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result


def _insert(conn: sqlite3.Connection, table: str, values: Mapping[str, object]) -> int:
    # table and column names are module constants, never user input
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cursor = conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
    )
    if cursor.lastrowid is None:  # pragma: no cover - SQLite always sets it
        raise StoreError(f"{table}: SQLite returned no row id for an insert")
    return cursor.lastrowid


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    message = str(exc)
    return "locked" in message or "busy" in message


def _database_error(path: Path, exc: sqlite3.Error, attempts: int) -> StoreError:
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        return StoreError(
            f"{path}: database is still locked after {attempts} attempts; another"
            " process holds a long write transaction, finish or stop it and retry"
        )
    return StoreError(
        f"{path}: SQLite error ({exc}); check that the file is writable and intact"
        f" (sqlite3 {path} 'PRAGMA integrity_check') or restore it from a backup"
    )


def _require_text(where: str, *, optional: bool = False, **values: object) -> None:
    """Refuse any of `values` that is not a non-blank string (None too if required)."""
    for name, value in values.items():
        if value is None and optional:
            continue
        if not isinstance(value, str) or not value.strip():
            raise StoreError(
                f"{where}: {name} {value!r} is empty or not text; pass a non-empty"
                " string"
            )


def _require_decision(where: str, decision: object) -> None:
    if decision in DECISIONS:
        return
    close = difflib.get_close_matches(str(decision).lower(), DECISIONS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "pick one of them"
    raise StoreError(
        f"{where}: decision {decision!r} is not one of {', '.join(DECISIONS)}; {hint}"
    )


def _require_window(where: str, start: str | None, end: str | None) -> None:
    parsed = [
        _parse_window(where, name, value)
        for name, value in (("window_start", start), ("window_end", end))
    ]
    first, last = parsed
    if first is None or last is None:
        return
    if (first.tzinfo is None) == (last.tzinfo is None) and first > last:
        raise StoreError(
            f"{where}: window_start {start!r} is after window_end {end!r}; swap them"
        )


def _parse_window(where: str, name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise StoreError(
            f"{where}: {name} {value!r} is not an ISO-8601 date; pass e.g."
            " '2026-03-02' or '2026-03-02T00:00:00', or None"
        ) from None


def _payload_json(payload: object) -> str:
    if not isinstance(payload, Mapping):
        raise StoreError(
            f"ResultStore.save_snapshot: payload is a {type(payload).__name__}, not a"
            " mapping; pass a dict such as AnalysisResult.to_dict()"
        )
    ready = _json_ready(payload, "payload", 0)
    return json.dumps(ready, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def _json_ready(value: object, where: str, depth: int) -> Any:
    """`value` as plain JSON types; see the module docstring for the conversions."""
    if depth > _MAX_PAYLOAD_DEPTH:
        raise _payload_error(where, f"is nested more than {_MAX_PAYLOAD_DEPTH} deep")
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {
            _json_key(key, where): _json_ready(item, f"{where}[{key!r}]", depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _json_ready(item, f"{where}[{index}]", depth + 1)
            for index, item in enumerate(value)
        ]
    to_list = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(to_list) and type(value).__module__ == "numpy":
        return _json_ready(to_list(), where, depth + 1)
    raise _payload_error(where, f"is a {type(value).__name__}, which JSON cannot hold")


def _json_key(key: object, where: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise _payload_error(f"{where} key {key!r}", "is not a string")


def _payload_error(where: str, what: str) -> StoreError:
    return StoreError(
        f"ResultStore.save_snapshot: {where} {what}; convert it to a string, number,"
        " list or dict before saving"
    )


def _snapshot_from_row(row: tuple[Any, ...], path: Path) -> Snapshot:
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


def _note_from_row(row: tuple[Any, ...]) -> Note:
    note_id, experiment, author, text, metric, created = row
    return Note(note_id, experiment, author, text, metric, _parse_time(created))


def _decision_from_row(row: tuple[Any, ...]) -> DecisionRecord:
    decision_id, experiment, decision, rationale, author, created, config_hash = row
    return DecisionRecord(
        decision_id, experiment, decision, rationale, author,
        _parse_time(created), config_hash,
    )  # fmt: skip


def _record_dict(record: Snapshot | Note | DecisionRecord) -> dict[str, Any]:
    values = {field.name: getattr(record, field.name) for field in fields(record)}
    return values | {"created_at": record.created_at.isoformat()}


def _timestamp() -> tuple[dt.datetime, str]:
    """Now in UTC, and its fixed-width ISO-8601 text (microseconds always shown)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now, now.isoformat(timespec="microseconds")


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
