"""Cluster moments (with daily increments) and quantile bounds on Spark and Postgres.

The demo has neither clusters nor quantile metrics, so the engine comparisons of
the demo never run those queries; this log has both (tests/engines/methods_log.py).
Every frame and the whole scorecard must equal DuckDB's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from abkit.analysis.assembly import build_result
from abkit.analysis.queries import EngineChoice, QueryResults, run_queries
from abkit.config import load_experiment
from tests.engines.compare import (
    TOLERANCE,
    frames_difference,
    nested_difference,
    result_dict,
)
from tests.engines.conftest import table_backed_copy
from tests.engines.methods_log import methods_log
from tests.engines.test_postgres import load_table

SCHEMA = "abkit_methods"
EXPECTED_FRAMES = {
    "moments", "exposure_health", "daily_exposures", "novelty", "quantiles", "clusters"
}  # fmt: skip


@pytest.fixture(scope="module")
def methods_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return methods_log(tmp_path_factory.mktemp("methods"))


@pytest.fixture(scope="module")
def on_duckdb(methods_exp: Path) -> QueryResults:
    return run_queries(load_experiment(methods_exp))


def same_as_duckdb(exp: Path, duck: QueryResults, other: QueryResults) -> None:
    differences = frames_difference(duck, other)
    assert set(differences) == EXPECTED_FRAMES
    assert max(differences.values()) <= TOLERANCE, differences
    experiment = load_experiment(exp)
    assert other.clusters is not None and duck.clusters is not None
    assert len(other.clusters) == len(duck.clusters) > 2  # overall + segment + daily
    scorecard = build_result(experiment, other)
    reference = build_result(load_experiment(exp), duck)
    assert (
        nested_difference(
            result_dict(reference, "config_hash"), result_dict(scorecard, "config_hash")
        )
        <= TOLERANCE
    )
    assert any(s.looks for s in scorecard.series)  # the cluster-robust daily looks


@pytest.mark.spark
def test_spark_equals_duckdb(methods_exp, on_duckdb, spark):
    on_spark = run_queries(load_experiment(methods_exp), choice=EngineChoice(con=spark))
    same_as_duckdb(methods_exp, on_duckdb, on_spark)


@pytest.fixture(scope="module")
def pg_methods_exp(
    methods_exp: Path, postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        connection.execute(f"CREATE SCHEMA {SCHEMA}")
        for name in ("assignments", "events", "units"):
            table = pq.read_table(methods_exp.parent / f"{name}.parquet")
            load_table(connection, name, table, SCHEMA)
        connection.execute("ANALYZE")
    yield table_backed_copy(methods_exp, SCHEMA, tmp_path_factory.mktemp("pg_methods"))
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def test_postgres_equals_duckdb(pg_methods_exp, on_duckdb, postgres_dsn):
    on_postgres = run_queries(
        load_experiment(pg_methods_exp),
        choice=EngineChoice(engine="postgres", dsn=postgres_dsn),
    )
    same_as_duckdb(pg_methods_exp, on_duckdb, on_postgres)
