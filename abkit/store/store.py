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

The SQLite schema, its migrations and the checks of a file live in
`abkit.store.database`, the records in `abkit.store.records`, the checks of write
arguments (and the payload's JSON) in `abkit.store.arguments`.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from abkit.errors import StoreError
from abkit.store.arguments import (
    payload_json,
    require_decision,
    require_text,
    require_window,
)
from abkit.store.database import (
    DEFAULT_FILENAME,
    SCHEMA_VERSION,
    check_compatible,
    check_path,
    configure,
    connect,
    database_error,
    in_transaction,
    insert,
    is_busy,
    is_read_only,
    migrate,
)
from abkit.store.records import (
    DECISION_COLUMNS,
    DECISIONS,
    NOTE_COLUMNS,
    SNAPSHOT_COLUMNS,
    Decision,
    DecisionRecord,
    Note,
    Snapshot,
    decision_from_row,
    note_from_row,
    snapshot_from_row,
)

__all__ = [
    "DECISIONS",
    "DEFAULT_FILENAME",
    "SCHEMA_VERSION",
    "Decision",
    "DecisionRecord",
    "Note",
    "ResultStore",
    "Snapshot",
]

_T = TypeVar("_T")
_MAX_ATTEMPTS = 6
_BACKOFF_BASE_S = 0.025
_BACKOFF_CAP_S = 1.0


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
        check_path(self.path)
        self.read_only = is_read_only(self.path)
        self._conn: sqlite3.Connection | None = connect(
            self.path, busy_timeout, read_only=self.read_only
        )
        try:
            version = self._call(lambda conn: check_compatible(conn, self.path))
            if self.read_only:
                self._open_read_only(version)
                return
            self._call(lambda conn: configure(conn, self.path))
            if version < SCHEMA_VERSION:
                self._call(lambda conn: migrate(conn, self.path), write=True)
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
        require_text(where, experiment=experiment, config_hash=config_hash)
        require_text(where, engine=engine, abkit_version=abkit_version)
        require_window(where, window_start, window_end)
        values = {
            "experiment": experiment,
            "config_hash": config_hash,
            "window_start": window_start,
            "window_end": window_end,
            "engine": engine,
            "created_at": _timestamp()[1],
            "abkit_version": abkit_version,
            "payload": payload_json(payload),
        }
        return self._call(lambda conn: insert(conn, "snapshots", values), write=True)

    def snapshots(self, experiment: str, limit: int | None = None) -> list[Snapshot]:
        """Snapshots of `experiment`, newest first, with parsed payloads (≤ `limit`)."""
        require_text("ResultStore.snapshots", experiment=experiment)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise StoreError(
                f"ResultStore.snapshots: limit {limit!r} is not a positive integer;"
                " pass a count such as 10, or None for all"
            )
        rows = self._select(
            f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE experiment = ?"
            " ORDER BY id DESC LIMIT ?",
            (experiment, -1 if limit is None else limit),
        )
        return [snapshot_from_row(row, self.path) for row in rows]

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
        require_text(where, experiment=experiment, text=text, author=author)
        require_text(where, optional=True, metric=metric)
        created, created_text = _timestamp()
        values = {
            "experiment": experiment,
            "author": author,
            "text": text,
            "metric": metric,
            "created_at": created_text,
        }
        note_id = self._call(lambda conn: insert(conn, "notes", values), write=True)
        return Note(note_id, experiment, author, text, metric, created)

    def notes(self, experiment: str) -> list[Note]:
        """Notes on `experiment`, newest first."""
        require_text("ResultStore.notes", experiment=experiment)
        rows = self._select(
            f"SELECT {NOTE_COLUMNS} FROM notes WHERE experiment = ? ORDER BY id DESC",
            (experiment,),
        )
        return [note_from_row(row) for row in rows]

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
        require_text(where, experiment=experiment)
        require_decision(where, decision)
        require_text(where, rationale=rationale, author=author)
        require_text(where, optional=True, config_hash=config_hash)
        created, created_text = _timestamp()
        values = {
            "experiment": experiment,
            "decision": decision,
            "rationale": rationale,
            "author": author,
            "created_at": created_text,
            "config_hash": config_hash,
        }
        new_id = self._call(lambda conn: insert(conn, "decisions", values), write=True)
        return DecisionRecord(
            new_id, experiment, decision, rationale, author, created, config_hash
        )

    def decisions(self, experiment: str) -> list[DecisionRecord]:
        """Decisions on `experiment`, newest first."""
        require_text("ResultStore.decisions", experiment=experiment)
        rows = self._select(
            f"SELECT {DECISION_COLUMNS} FROM decisions WHERE experiment = ?"
            " ORDER BY id DESC",
            (experiment,),
        )
        return [decision_from_row(row) for row in rows]

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

    def _open_read_only(self, version: int) -> None:
        """A read-only store: an empty one reads as empty, an old one is refused."""
        if not self.path.exists():  # in-memory stand-in: the schema, no rows
            conn = self._connection()
            in_transaction(conn, lambda c: migrate(c, self.path))
        elif version < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: is read-only and was written by an older abkit (schema "
                f"v{version}); open it once where it is writable to upgrade it"
            )

    def _select(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._call(
            lambda conn: conn.execute(sql, params).fetchall()
        )
        return rows

    def _call(
        self, work: Callable[[sqlite3.Connection], _T], *, write: bool = False
    ) -> _T:
        """Run `work` (in a write transaction if `write`), retrying while busy."""
        if write and self.read_only:
            raise StoreError(
                f"{self.path}: the results store is read-only (the file or its folder "
                "is not writable); reading works, to write use a writable --store"
            )
        attempt = 1
        while True:
            try:
                with self._lock:
                    conn = self._connection()
                    return in_transaction(conn, work) if write else work(conn)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or attempt >= _MAX_ATTEMPTS:
                    raise database_error(self.path, exc, attempt) from exc
            except sqlite3.DatabaseError as exc:
                raise database_error(self.path, exc, attempt) from exc
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


def _timestamp() -> tuple[dt.datetime, str]:
    """Now in UTC, and its fixed-width ISO-8601 text (microseconds always shown)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now, now.isoformat(timespec="microseconds")
