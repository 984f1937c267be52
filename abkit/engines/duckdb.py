"""DuckDB engine: embedded, reads Parquet/CSV in place, the default."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from abkit.config import Source
from abkit.errors import DataError, EngineError
from abkit.sql.dialects import Dialect
from abkit.sql.render import relation_sql


class DuckDBEngine:
    """Run abkit SQL on DuckDB, on a private in-memory connection or the user's own.

    Args:
        connection: an existing connection (notebooks: tables the user registered);
            None opens a private in-memory one.
        threads: DuckDB worker threads for a private connection (default: all cores).
    """

    name = "duckdb"
    dialect: Dialect = "duckdb"

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection | None = None,
        *,
        threads: int | None = None,
    ) -> None:
        self._owned = connection is None
        self.connection = (
            connection if connection is not None else duckdb.connect(":memory:")
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

    def lock_down(self, sources: Iterable[Source]) -> None:
        """Forbid file and network access beyond the declared sources.

        Only for a private connection: a user's own connection keeps its settings.
        """
        if not self._owned:
            return
        paths = sorted({os.path.abspath(s.path) for s in sources if s.path is not None})
        directories = sorted({os.path.dirname(p) + os.sep for p in paths})
        con = self.connection
        con.execute("SET allowed_directories = ?", [directories])
        con.execute("SET allowed_paths = ?", [paths])
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
        """Close the connection if abkit opened it."""
        if self._owned:
            self.connection.close()
