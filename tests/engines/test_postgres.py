"""The demo analysis on Postgres tables equals DuckDB's on the Parquet files.

Runs against the server `.ci/run` starts (ABKIT_TEST_POSTGRES_DSN); skipped only when
that variable is not set.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import abkit
from abkit.analysis.assembly import build_result
from abkit.analysis.queries import EngineChoice, QueryResults, run_queries
from abkit.config import Source, load_experiment
from abkit.engines.postgres import PostgresEngine
from abkit.errors import DataError, EngineError, QueryError
from abkit.frontends.cli import app
from tests.engines.compare import (
    TOLERANCE,
    frames_difference,
    nested_difference,
    result_dict,
)
from tests.engines.conftest import table_backed_copy

SCHEMA = "abkit_demo"
POSTGRES_TYPES = {
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE PRECISION",
    pa.string(): "TEXT",
    pa.large_string(): "TEXT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}


def load_table(
    connection: Any, name: str, table: pa.Table, schema: str = SCHEMA
) -> None:
    """CREATE TABLE and COPY the rows in as CSV."""
    columns = ", ".join(f'"{f.name}" {POSTGRES_TYPES[f.type]}' for f in table.schema)
    connection.execute(f"CREATE TABLE {schema}.{name} ({columns})")
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    with connection.cursor().copy(
        f"COPY {schema}.{name} FROM STDIN WITH (FORMAT csv, HEADER true)"
    ) as copy:
        copy.write(buffer.getvalue())


@pytest.fixture(scope="module")
def pg_exp(demo_exp: Path, postgres_dsn: str, tmp_path_factory) -> Iterator[Path]:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        connection.execute(f"CREATE SCHEMA {SCHEMA}")
        for name in ("assignments", "events", "units"):
            path = demo_exp.parent.parent / "demo" / f"{name}.parquet"
            load_table(connection, name, pq.read_table(path))
        connection.execute("ANALYZE")
    yield table_backed_copy(demo_exp, SCHEMA, tmp_path_factory.mktemp("pg"))
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


@pytest.fixture(scope="module")
def demo_runs(demo_exp, pg_exp, postgres_dsn) -> dict[str, QueryResults]:
    started = time.perf_counter()
    on_postgres = run_queries(
        load_experiment(pg_exp),
        choice=EngineChoice(engine="postgres", dsn=postgres_dsn),
    )
    print(f"\nPostgres demo queries: {time.perf_counter() - started:.1f} s")
    return {"duckdb": run_queries(load_experiment(demo_exp)), "postgres": on_postgres}


def test_every_sufficient_statistic_equals_duckdb(demo_runs):
    differences = frames_difference(demo_runs["duckdb"], demo_runs["postgres"])
    print(f"largest relative difference per frame: {differences}")
    assert set(differences) == {
        "moments", "exposure_health", "daily_exposures", "contamination", "novelty"
    }  # fmt: skip
    assert max(differences.values()) <= TOLERANCE


def test_the_scorecard_equals_duckdb_and_records_postgres(demo_exp, pg_exp, demo_runs):
    duck = build_result(load_experiment(demo_exp), demo_runs["duckdb"])
    postgres = build_result(load_experiment(pg_exp), demo_runs["postgres"])
    difference = nested_difference(
        result_dict(duck, "config_hash"), result_dict(postgres, "config_hash")
    )
    assert difference <= TOLERANCE
    assert (postgres.engine, postgres.dialect) == ("postgres", "postgres")


def test_cli_engine_postgres_on_the_table_backed_copy(pg_exp, postgres_dsn):
    printed = CliRunner().invoke(
        app, ["analyze", str(pg_exp), "--engine", "postgres", "--dsn", postgres_dsn,
              "--format", "json"],
    )  # fmt: skip
    assert printed.exit_code == 0, printed.output
    assert '"engine": "postgres"' in printed.stdout
    assert '"dialect": "postgres"' in printed.stdout


def test_analyze_takes_a_psycopg_connection(pg_exp, postgres_dsn):
    import psycopg

    with psycopg.connect(postgres_dsn) as connection:
        result = abkit.analyze(pg_exp, con=connection)
        assert result.engine == "postgres"
        assert connection.execute("SELECT 42").fetchone() == (42,), "left open"


def test_files_and_bad_tables_are_one_line_errors(postgres_dsn, tmp_path):
    engine = PostgresEngine(dsn=postgres_dsn)
    with pytest.raises(
        QueryError, match=r"postgres cannot read the parquet file .*`table:`"
    ):
        engine.columns(Source(path=str(tmp_path / "events.parquet")))
    with pytest.raises(
        DataError, match=r"cannot read abkit_nowhere\.events on Postgres"
    ):
        engine.columns(Source(table="abkit_nowhere.events"))
    with pytest.raises(EngineError, match="Postgres failed on abkit's query"):
        engine.query("SELECT no_such_column")
    assert engine.query("SELECT 1 AS one").column("one").to_pylist() == [1]
    engine.close()


def test_a_wrong_dsn_is_one_engine_error():
    with pytest.raises(EngineError, match="cannot connect to Postgres"):
        PostgresEngine(dsn="host=127.0.0.1 port=1 connect_timeout=2")
