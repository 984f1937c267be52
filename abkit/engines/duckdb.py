"""DuckDB engine: embedded, reads Parquet/CSV in place, the default.

A private connection starts with extension auto-install and auto-load off (a URL
must not make DuckDB download httpfs), and `lock_down` runs before any query that
reads a source: afterwards only the declared files can be read. Remote paths
(``s3://``, ``https://``) are refused unless the operator allows them
(``allow_remote=True`` or ``ABKIT_ALLOW_REMOTE_DATA=1``; an exp.yaml cannot), and a
path that is not a regular file (a FIFO, a device, a folder) is refused before
DuckDB opens it, so nothing blocks.

Memory: a private connection spills to a temporary folder of its own (removed on
close), never to the working directory, and its memory is capped by
``memory_limit=`` or ``ABKIT_DUCKDB_MEMORY_LIMIT`` (e.g. ``2GB``; default DuckDB's,
80% of RAM), so a 100M-event analysis can run in a fixed budget by spilling.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from abkit.config import Source
from abkit.errors import DataError, EngineError
from abkit.sql.dialects import Dialect
from abkit.sql.render import relation_sql

REMOTE_ENV = "ABKIT_ALLOW_REMOTE_DATA"
"""Environment variable that, set to 1, lets data paths be URLs (s3://, https://)."""
MEMORY_ENV = "ABKIT_DUCKDB_MEMORY_LIMIT"
"""Environment variable capping a private connection's memory (a size: 2GB, 512MiB)."""
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*([KMGT]i?B|[KMGT]|B)?\s*$", re.IGNORECASE)

_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[]")
_SAFE_START = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class DuckDBEngine:
    """Run abkit SQL on DuckDB, on a private in-memory connection or the user's own.

    Args:
        connection: an existing connection (notebooks: tables the user registered);
            None opens a private in-memory one.
        threads: DuckDB worker threads for a private connection (default: all cores).
        allow_remote: allow URLs as data paths (default: the `REMOTE_ENV` variable).
        memory_limit: a private connection's memory cap, beyond which it spills
            (default: the `MEMORY_ENV` variable, else DuckDB's own).
    """

    name = "duckdb"
    dialect: Dialect = "duckdb"

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection | None = None,
        *,
        threads: int | None = None,
        allow_remote: bool | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self._owned = connection is None
        self._spill: str | None = None
        self.allow_remote = (
            os.environ.get(REMOTE_ENV) == "1" if allow_remote is None else allow_remote
        )
        self.connection = (
            connection
            if connection is not None
            else duckdb.connect(":memory:", config=dict(_SAFE_START))
        )
        if (
            self._owned
        ):  # abkit shows progress itself; keep stdout clean for --format json
            with contextlib.suppress(
                duckdb.Error
            ):  # Jupyter without ipywidgets refuses
                self.connection.execute("SET enable_progress_bar = false")
        if self._owned and threads:
            self.connection.execute(f"SET threads = {int(threads)}")
        if self._owned:
            self._set_memory(memory_limit or os.environ.get(MEMORY_ENV) or None)

    def _set_memory(self, limit: str | None) -> None:
        """Spill to a private temporary folder; cap the memory if asked."""
        if limit is not None and not _SIZE.match(limit):
            self.connection.close()
            raise DataError(
                f"memory limit '{limit[:40]}' is not a size; set {MEMORY_ENV} (or "
                "memory_limit=) to a size such as 2GB or 512MiB"
            )
        self._spill = tempfile.mkdtemp(prefix="abkit-spill-")
        self.connection.execute("SET temp_directory = ?", [self._spill])
        if limit is None:
            return
        try:
            self.connection.execute("SET memory_limit = ?", [limit.strip()])
        except duckdb.Error:
            self.close()
            raise DataError(
                f"DuckDB cannot cap its memory at '{limit[:40]}'; set {MEMORY_ENV} "
                "(or memory_limit=) to a size such as 2GB or 512MiB"
            ) from None

    def lock_down(
        self,
        sources: Iterable[Source],
        *,
        time_zone: str = "UTC",
        workspace: Iterable[str] = (),
    ) -> None:
        """Check the sources, then forbid file and network access beyond them.

        The session time zone is set to `time_zone` (tz-aware timestamps are read
        in it, whatever the machine's zone). `workspace` names files abkit itself
        keeps (the refresh state): allowed too, and not checked as data, since they
        may not exist yet. Only for a private connection: a user's own connection
        keeps its settings.

        Raises:
            DataError: a path is remote (and not allowed), missing or not a file.
        """
        sources = list(sources)
        for source in sources:
            if source.path is not None:
                check_path(source.path, allow_remote=self.allow_remote)
        if not self._owned:
            return
        declared = [s.path for s in sources if s.path is not None]
        local = [p for p in declared if not _REMOTE.match(p)]
        remote = sorted(set(declared) - set(local))
        con = self.connection
        try:
            con.execute("SET TimeZone = ?", [time_zone])
        except duckdb.Error:
            raise DataError(
                f"DuckDB does not know the time zone '{time_zone}'; set time_zone "
                "in exp.yaml to an IANA name such as UTC"
            ) from None
        con.execute("SET allowed_directories = ?", [_glob_roots(local)])
        allowed = {os.path.abspath(p) for p in [*local, *workspace]}
        con.execute("SET allowed_paths = ?", [sorted(allowed)])
        if remote:  # allowed by the operator: httpfs may load, the network is open
            con.execute("SET autoload_known_extensions = true")
        else:
            con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def columns(self, source: Source) -> list[str]:
        """Column names of a source, reading only its schema."""
        relation = relation_sql(source)
        try:
            described = self.connection.execute(
                f"DESCRIBE SELECT * FROM {relation}"
            ).fetchall()
        except duckdb.Error as error:
            where = source.path or source.table
            fix = (
                "check data: path in exp.yaml"
                if source.path
                else "check the table name"
            )
            message = str(error).splitlines()[0]
            raise DataError(f"cannot read {where}: {message}; {fix}") from None
        return [str(row[0]) for row in described]

    def query(self, sql: str) -> pa.Table:
        """Run one query and return the result as Arrow."""
        try:
            relation = self.connection.sql(sql)
            if relation is None:  # a statement that returns no rows
                return pa.table({})
            # DuckDB 2 names it to_arrow_table; DuckDB 1.x arrow()
            to_arrow = getattr(relation, "to_arrow_table", None) or relation.arrow
            table: pa.Table = to_arrow()
        except duckdb.Error as error:
            message = str(error).splitlines()[0]
            raise EngineError(
                f"DuckDB failed on abkit's query: {message}; run `abkit sql` "
                "to inspect the SQL"
            ) from None
        return table

    def close(self) -> None:
        """Close the connection if abkit opened it, and remove its spill folder."""
        if self._owned:
            self.connection.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None


def check_path(path: str, *, allow_remote: bool = False) -> None:
    """A data path is a regular file (or a glob of them), or an allowed URL.

    Raises:
        DataError: naming the path and the fix.
    """
    if _REMOTE.match(path):
        if not allow_remote:
            raise DataError(
                f"data path '{_shown(path)}' is remote; copy the data to a local "
                f"file, or set {REMOTE_ENV}=1 where abkit runs to allow URLs"
            )
        return
    matches = glob.glob(path) if _GLOB.search(path) else [path]
    if not matches:
        raise DataError(
            f"data path '{_shown(path)}' matches no file; check data: path in exp.yaml"
        )
    for match in matches:
        try:
            mode = os.stat(match).st_mode
        except OSError as error:
            raise DataError(
                f"cannot read {_shown(match)}: {error.strerror}; check data: path "
                "in exp.yaml"
            ) from None
        if not stat.S_ISREG(mode):
            raise DataError(
                f"data path '{_shown(match)}' is not a regular file (a folder, FIFO "
                "or device); point data: path at Parquet or CSV files"
            )


def _glob_roots(paths: Iterable[str]) -> list[str]:
    """The folder above the first wildcard of each glob (a plain file needs none)."""
    roots = set()
    for path in map(os.path.abspath, paths):
        wildcard = _GLOB.search(path)
        if wildcard:
            roots.add(os.path.dirname(path[: wildcard.start()]) + os.sep)
    return sorted(roots)


def _shown(text: str) -> str:
    return text if len(text) <= 120 else text[:119] + "…"
