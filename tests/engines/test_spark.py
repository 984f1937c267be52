"""The demo analysis on Spark equals DuckDB's: every sufficient statistic, the scorecard."""

from __future__ import annotations

import time

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import abkit
from abkit.analysis.assembly import build_result
from abkit.analysis.queries import EngineChoice, QueryResults, run_queries
from abkit.config import load_experiment
from abkit.engines import open_engine
from abkit.engines.spark import SparkEngine
from abkit.errors import DataError, EngineError
from abkit.frontends.cli import app
from tests.engines.compare import (
    TOLERANCE,
    frames_difference,
    nested_difference,
    result_dict,
)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def demo_runs(demo_exp, spark) -> dict[str, QueryResults]:
    experiment = load_experiment(demo_exp)
    started = time.perf_counter()
    on_spark = run_queries(experiment, choice=EngineChoice(con=spark))
    print(f"\nSpark demo queries: {time.perf_counter() - started:.1f} s")
    return {"duckdb": run_queries(experiment), "spark": on_spark}


def test_every_sufficient_statistic_equals_duckdb(demo_runs):
    differences = frames_difference(demo_runs["duckdb"], demo_runs["spark"])
    print(f"largest relative difference per frame: {differences}")
    assert set(differences) == {
        "moments", "exposure_health", "daily_exposures", "contamination", "novelty"
    }  # fmt: skip
    assert max(differences.values()) <= TOLERANCE
    assert len(demo_runs["spark"].moments) == len(demo_runs["duckdb"].moments) > 2


def test_the_scorecard_equals_duckdb_and_records_spark(demo_exp, demo_runs):
    experiment = load_experiment(demo_exp)
    duck = build_result(experiment, demo_runs["duckdb"])
    spark = build_result(experiment, demo_runs["spark"])
    assert nested_difference(result_dict(duck), result_dict(spark)) <= TOLERANCE
    assert str(spark) == str(duck)
    assert (spark.engine, spark.dialect) == ("spark", "spark")
    assert spark.to_dict()["dialect"] == "spark"
    assert (duck.engine, duck.dialect) == ("duckdb", "duckdb")


@pytest.fixture
def tiny_exp_us(tiny_exp):
    """The tiny experiment with microsecond timestamps (Spark reads no nanoseconds)."""
    for name in ("assignments", "events", "units"):
        path = tiny_exp.parent / f"{name}.parquet"
        table = pq.read_table(path)
        pq.write_table(
            table, path, coerce_timestamps="us", allow_truncated_timestamps=True
        )
    return tiny_exp


def test_nanosecond_parquet_is_one_data_error(tiny_exp, spark):
    with pytest.raises(DataError, match=r"events\.parquet on Spark: .*Illegal Parquet"):
        abkit.analyze(tiny_exp, con=spark)


def test_cli_engine_spark_prints_the_duckdb_scorecard(tiny_exp_us, spark):
    tiny_exp = tiny_exp_us
    runner = CliRunner()
    on_duckdb = runner.invoke(app, ["analyze", str(tiny_exp), "--no-cuped"])
    on_spark = runner.invoke(
        app, ["analyze", str(tiny_exp), "--no-cuped", "--engine", "spark"]
    )
    assert on_duckdb.exit_code == 0, on_duckdb.output
    assert on_spark.exit_code == 0, on_spark.output
    assert on_spark.stdout == on_duckdb.stdout
    assert spark.sql("SELECT 1 AS one").collect()[0].one == 1, "session left running"


def test_analyze_takes_a_spark_session_and_catalog_tables(tiny_exp_us, spark):
    tiny_exp = tiny_exp_us
    directory = tiny_exp.parent
    for name in ("assignments", "events", "units"):
        spark.read.parquet(str(directory / f"{name}.parquet")).createOrReplaceTempView(
            f"tiny_{name}"
        )
    text = tiny_exp.read_text()
    for name in ("assignments", "events", "units"):
        text = text.replace(f"path: {name}.parquet", f"table: tiny_{name}")
    tables = directory / "exp_tables.yaml"
    tables.write_text(text)
    on_tables = abkit.analyze(tables, con=spark)
    on_files = abkit.analyze(tiny_exp)
    assert on_tables.engine == "spark"
    difference = nested_difference(
        result_dict(on_tables, "config_hash"), result_dict(on_files, "config_hash")
    )
    assert difference <= TOLERANCE


def test_a_missing_source_is_one_data_error(tmp_path, spark):
    from abkit.config import Source

    engine = open_engine(spark)
    assert isinstance(engine, SparkEngine)
    with pytest.raises(DataError, match=r"cannot read .*missing\.parquet on Spark"):
        engine.columns(Source(path=str(tmp_path / "missing.parquet")))
    with pytest.raises(EngineError, match="Spark failed on abkit's query"):
        engine.query("SELECT no_such_column FROM VALUES (1) AS t(a)")
    engine.close()
    assert spark.sql("SELECT 2 AS two").collect()[0].two == 2
