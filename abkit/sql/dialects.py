"""The warehouse dialects abkit's DuckDB SQL can be transpiled to (with sqlglot).

sqlglot is imported on the first transpile, so listing the dialects (the command
line's help) stays cheap.
"""

from __future__ import annotations

from typing import Literal

from abkit.errors import QueryError

Dialect = Literal["duckdb", "spark", "bigquery", "snowflake", "trino", "postgres"]
DIALECTS: tuple[Dialect, ...] = (
    "duckdb",
    "spark",
    "bigquery",
    "snowflake",
    "trino",
    "postgres",
)


def transpile(sql: str, dialect: Dialect, *, pretty: bool = True) -> str:
    """Transpile DuckDB SQL to another dialect with sqlglot."""
    import sqlglot

    if dialect not in DIALECTS:
        raise QueryError(
            f"unknown dialect '{dialect}'; choose one of {', '.join(DIALECTS)}"
        )
    statements = sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=pretty)
    return ";\n\n".join(statements)
