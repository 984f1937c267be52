"""The DuckDB engine: schema reads, lock-down, error translation."""

from __future__ import annotations

import pytest

from abkit.config import load_experiment
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import DataError, EngineError


def test_columns_reads_the_schema(tiny_exp):
    experiment = load_experiment(tiny_exp)
    engine = DuckDBEngine()
    assert engine.columns(experiment.data.events) == ["uid", "at", "name", "amount"]


def test_lock_down_allows_sources_and_refuses_other_files(tiny_exp, tmp_path):
    experiment = load_experiment(tiny_exp)
    outside = tmp_path / "secret.csv"
    outside.write_text("a,b\n1,2\n")
    engine = DuckDBEngine()
    engine.lock_down([experiment.data.assignments, experiment.data.events])
    counted = engine.query(
        f"SELECT count(*) AS n FROM read_parquet('{experiment.data.events.path}')"
    )
    assert counted["n"][0].as_py() > 0
    with pytest.raises(EngineError, match="DuckDB failed"):
        engine.query(f"SELECT * FROM read_csv('{outside}')")
    with pytest.raises(EngineError):
        engine.query("SET enable_external_access = true")


def test_unreadable_source_is_a_data_error(tmp_path):
    from abkit.config import Source

    with pytest.raises(DataError, match=r"cannot read .*missing\.parquet"):
        DuckDBEngine().columns(Source(path=str(tmp_path / "missing.parquet")))
