"""Which engine runs an analysis: the connection passed in, else the engine named.

Connections are recognised by their type's module, so neither pyspark nor psycopg is
imported unless that engine is used.
"""

from __future__ import annotations

from typing import Any, Literal

import duckdb

from abkit.engines.base import Engine
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import AbkitError

EngineName = Literal["duckdb", "spark", "postgres"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "spark", "postgres")


def connection_engine_name(con: object) -> EngineName:
    """The engine of a user's connection, or a one-line AbkitError naming the kinds."""
    module = type(con).__module__
    if isinstance(con, duckdb.DuckDBPyConnection):
        return "duckdb"
    if module.startswith("pyspark.") and type(con).__name__ == "SparkSession":
        return "spark"
    if module.startswith("psycopg") and hasattr(con, "cursor"):
        return "postgres"
    raise AbkitError(
        f"con= got a {module}.{type(con).__name__}; pass a DuckDB connection, a "
        "SparkSession or a psycopg connection (or nothing for a private DuckDB)"
    )


def open_engine(
    con: Any = None,
    *,
    engine: str | None = None,
    spark_master: str | None = None,
    dsn: str | None = None,
) -> Engine:
    """The engine for `con` (its kind decides), else a new one of kind `engine`.

    Args:
        con: a DuckDB connection, a SparkSession or a psycopg connection, or None.
        engine: duckdb (default), spark or postgres; must match `con` if both given.
        spark_master: the master of a Spark session abkit starts (default local[2]).
        dsn: the Postgres connection string (default: the PG* environment).
    """
    if engine is not None and engine not in ENGINES:
        raise AbkitError(f"engine '{engine}' is not known; use {', '.join(ENGINES)}")
    kind = connection_engine_name(con) if con is not None else engine or "duckdb"
    if con is not None and engine is not None and engine != kind:
        raise AbkitError(
            f"engine '{engine}' was asked for but con= is a {kind} connection; "
            "pass one or the other"
        )
    if kind == "spark":
        from abkit.engines.spark import SparkEngine

        return SparkEngine(con, master=spark_master)
    if kind == "postgres":
        from abkit.engines.postgres import PostgresEngine

        return PostgresEngine(con, dsn=dsn)
    return DuckDBEngine(con)
