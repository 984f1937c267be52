"""Postgres engine: the analysis on tables in a Postgres database, through psycopg 3.

psycopg is an optional extra (`pip install 'abkit[postgres]'`), imported only when a
Postgres engine is built; docs/decisions/ says why psycopg rather than ADBC. The
connection comes from the user, from `--dsn`, or from libpq's PG* environment.
Postgres reads tables only: exp.yaml names them with `table:`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from abkit.config import Source
from abkit.errors import DataError, EngineError
from abkit.sql.dialects import Dialect
from abkit.sql.render import relation_sql

if TYPE_CHECKING:
    import psycopg


def connect(dsn: str | None = None) -> psycopg.Connection[Any]:
    """A psycopg connection to `dsn` (None: libpq's PG* environment variables)."""
    try:
        import psycopg
    except ImportError:
        raise EngineError(
            "--engine postgres needs psycopg; install it with "
            "pip install 'abkit[postgres]'"
        ) from None
    try:
        return psycopg.connect(dsn or "", autocommit=True)
    except psycopg.Error as error:
        raise EngineError(
            f"cannot connect to Postgres: {_first_line(error)}; check --dsn or the "
            "PGHOST/PGPORT/PGUSER/PGDATABASE environment"
        ) from None


class PostgresEngine:
    """Run abkit SQL on Postgres, on the user's connection or one abkit opens.

    Args:
        connection: an open psycopg connection; None connects to `dsn`.
        dsn: a libpq connection string or URI, used when `connection` is None.
    """

    name = "postgres"
    dialect: Dialect = "postgres"

    def __init__(
        self,
        connection: psycopg.Connection[Any] | None = None,
        *,
        dsn: str | None = None,
    ) -> None:
        self._owned = connection is None
        self.connection = connection if connection is not None else connect(dsn)

    def columns(self, source: Source) -> list[str]:
        """Column names of a table, reading no rows."""
        relation = relation_sql(source, "postgres")  # refuses file sources
        import psycopg

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM {relation} LIMIT 0")
                description = cursor.description or []
        except psycopg.Error as error:
            self._recover()
            raise DataError(
                f"cannot read {source.table} on Postgres: {_first_line(error)}; "
                "check the table name"
            ) from None
        return [column.name for column in description]

    def query(self, sql: str) -> pa.Table:
        """Run one query and return the result as Arrow."""
        import psycopg

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql)
                names = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
        except psycopg.Error as error:
            self._recover()
            raise EngineError(
                f"Postgres failed on abkit's query: {_first_line(error)}; run "
                "`abkit sql --dialect postgres` to inspect the SQL"
            ) from None
        return rows_to_arrow(names, rows)

    def _recover(self) -> None:
        """A failed statement aborts an open transaction: roll it back."""
        if not self.connection.autocommit:
            self.connection.rollback()

    def close(self) -> None:
        """Close the connection if abkit opened it."""
        if self._owned:
            self.connection.close()


def rows_to_arrow(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    """Rows as an Arrow table; NUMERIC (Decimal) columns become float64."""
    columns = {}
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        if any(isinstance(value, Decimal) for value in values):
            values = [None if value is None else float(value) for value in values]
        columns[name] = pa.array(values)
    return pa.table(columns) if columns else pa.table({})


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
