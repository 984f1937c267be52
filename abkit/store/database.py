"""The SQLite side of the store: the schema, opening a file, transactions, errors.

Schema:
    The version lives in ``PRAGMA user_version``. `MIGRATIONS` lists the forward steps
    (step *n* turns version *n-1* into *n*); they run in one transaction, so a database
    is either fully migrated or untouched. Released steps are never edited. A database
    written by a newer abkit, a file that is not SQLite, and a SQLite file of another
    application are all refused without being modified.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from abkit.errors import StoreError

DEFAULT_FILENAME = "abkit.db"

_T = TypeVar("_T")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
SCHEMA_VERSION = len(MIGRATIONS)


def check_path(path: Path) -> None:
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


def is_read_only(path: Path) -> bool:
    """Whether the store can only be read: its file or its folder is not writable.

    A missing file in a writable folder is not read-only (it is created).
    """
    if path.exists():
        return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
    return not os.access(path.parent, os.W_OK)


def connect(
    path: Path, busy_timeout: float, *, read_only: bool = False
) -> sqlite3.Connection:
    """A connection in autocommit mode, shareable between threads (under a lock).

    `read_only` opens the file with SQLite's URI ``mode=ro``; when even that needs
    a file the folder cannot hold (WAL's -shm), it opens it ``immutable=1``. A
    missing file then reads as an empty store (an in-memory one).
    """
    try:
        if read_only:
            return _connect_read_only(path, busy_timeout)
        return sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(
            f"{path}: cannot open the results store ({exc}); check the path and its"
            " permissions"
        ) from exc


def _connect_read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
    if not path.exists():
        return _open(":memory:", busy_timeout, uri=False)
    uri = path.resolve().as_uri()
    conn = _open(f"{uri}?mode=ro", busy_timeout, uri=True)
    try:
        conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:  # WAL without a writable folder for -shm
        conn.close()
        return _open(f"{uri}?immutable=1", busy_timeout, uri=True)
    return conn


def _open(target: str, busy_timeout: float, *, uri: bool) -> sqlite3.Connection:
    return sqlite3.connect(
        target,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
        uri=uri,
    )


def check_compatible(conn: sqlite3.Connection, path: Path) -> int:
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


def configure(conn: sqlite3.Connection, path: Path) -> None:
    """WAL mode (persistent, in the file) and FULL sync (per connection)."""
    conn.execute("PRAGMA synchronous = FULL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(
            f"{path}: SQLite could not switch to WAL mode (got {mode!r}); keep the"
            " results store on a local disk, not a network share"
        )


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the missing forward steps; runs inside one write transaction."""
    # checked again under the write lock: another process may have moved it on
    found = check_compatible(conn, path)
    for statement in (s for step in MIGRATIONS[found:] for s in step):
        conn.execute(statement)
    if found < SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


def in_transaction(
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


def insert(conn: sqlite3.Connection, table: str, values: Mapping[str, object]) -> int:
    """Insert one row of `values` (column → value) into `table`; return its id."""
    # table and column names are module constants, never user input
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cursor = conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
    )
    if cursor.lastrowid is None:  # pragma: no cover - SQLite always sets it
        raise StoreError(f"{table}: SQLite returned no row id for an insert")
    return cursor.lastrowid


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether `exc` is SQLite's "busy" or "locked" (worth retrying)."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    message = str(exc)
    return "locked" in message or "busy" in message


def database_error(path: Path, exc: sqlite3.Error, attempts: int) -> StoreError:
    """The StoreError for a SQLite error after `attempts` attempts, with the fix."""
    if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
        return StoreError(
            f"{path}: database is still locked after {attempts} attempts; another"
            " process holds a long write transaction, finish or stop it and retry"
        )
    return StoreError(
        f"{path}: SQLite error ({exc}); check that the file is writable and intact"
        f" (sqlite3 {path} 'PRAGMA integrity_check') or restore it from a backup"
    )
