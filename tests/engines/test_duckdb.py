"""The DuckDB engine: schema reads, lock-down, error translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from abkit.config import load_experiment
from abkit.engines.duckdb import MEMORY_ENV, DuckDBEngine
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


def test_a_capped_locked_down_connection_spills_to_its_own_folder(
    tiny_exp, monkeypatch
):
    # a GROUP BY over 3M keys needs far more than 48 MB: done only by spilling
    monkeypatch.setenv(MEMORY_ENV, "48MB")
    experiment = load_experiment(tiny_exp)
    engine = DuckDBEngine()
    engine.lock_down([experiment.data.events])
    settings = engine.query(
        "SELECT current_setting('memory_limit') AS memory,"
        " current_setting('temp_directory') AS spill"
    ).to_pylist()[0]
    spill = Path(settings["spill"])
    assert settings["memory"] == "45.7 MiB"  # DuckDB's rendering of 48 MB
    assert spill.is_dir() and spill.name.startswith("abkit-spill-")
    summed = engine.query(
        "SELECT count(*) AS groups, sum(n) AS rows FROM (SELECT i % 3000000 AS k,"
        " count(*) AS n, list(i) AS kept FROM range(6000000) AS t(i) GROUP BY k)"
    ).to_pylist()[0]
    assert summed == {"groups": 3_000_000, "rows": 6_000_000}
    engine.close()
    assert not spill.exists()


@pytest.mark.parametrize("limit", ["lots", "2 GB; SET enable_external_access = true"])
def test_a_memory_limit_that_is_not_a_size_is_one_line(limit, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, limit)
    with pytest.raises(DataError, match=f"not a size; set {MEMORY_ENV}"):
        DuckDBEngine()
