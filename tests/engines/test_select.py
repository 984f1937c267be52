"""Which engine runs: the connection's kind, else --engine / exp.yaml `engine:`."""

from __future__ import annotations

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

import abkit
from abkit.engines import open_engine
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import AbkitError
from abkit.frontends.cli import app


@pytest.mark.parametrize("con", [object(), "duckdb", 42])
def test_anything_else_as_con_is_one_line_abkit_error(tiny_exp, con):
    with pytest.raises(
        AbkitError, match="pass a DuckDB connection, a SparkSession"
    ) as info:
        abkit.analyze(tiny_exp, con=con)
    assert "\n" not in str(info.value)


def test_a_duckdb_connection_runs_on_duckdb_and_is_recorded(tiny_exp):
    result = abkit.analyze(tiny_exp, con=duckdb.connect())
    assert (result.engine, result.dialect) == ("duckdb", "duckdb")
    assert result.to_dict()["dialect"] == "duckdb"


def test_an_engine_that_contradicts_the_connection_is_refused():
    with pytest.raises(AbkitError, match="con= is a duckdb connection"):
        open_engine(duckdb.connect(), engine="spark")
    assert isinstance(open_engine(), DuckDBEngine)


def test_unknown_engines_are_refused(tiny_exp):
    printed = CliRunner().invoke(app, ["analyze", str(tiny_exp), "--engine", "oracle"])
    assert printed.exit_code == 2
    assert (
        "--engine 'oracle' is not known; use duckdb, spark, postgres" in printed.output
    )
    spec = yaml.safe_load(tiny_exp.read_text())
    spec["engine"] = "oracle"
    tiny_exp.write_text(yaml.safe_dump(spec))
    printed = CliRunner().invoke(app, ["analyze", str(tiny_exp)])
    assert printed.exit_code == 2
    assert "engine" in printed.output


def test_exp_yaml_engine_is_read(tiny_exp):
    spec = yaml.safe_load(tiny_exp.read_text())
    spec["engine"] = "duckdb"
    tiny_exp.write_text(yaml.safe_dump(spec))
    assert abkit.load_experiment(tiny_exp).engine == "duckdb"
