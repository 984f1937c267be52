"""Defects 1–3 of the hardening issue: file access, remote paths, hangs."""

from __future__ import annotations

import os
import time

import pytest

import abkit
from abkit.config import load_experiment
from abkit.errors import ConfigError, DataError
from tests.hardening.helpers import cli, one_line_error, tiny_case


def test_table_cannot_be_a_table_function_reading_etc_passwd(tmp_path):
    def read_passwd(exp, _):
        exp["data"]["units"] = {
            "table": "read_csv('/etc/passwd', header=true, delim='\t')",
            "unit_id": "uid",
        }

    line = one_line_error(cli("analyze", tiny_case(tmp_path, read_passwd)))
    assert "not a plain table name" in line
    assert "root:" not in line


@pytest.mark.parametrize(
    "table", ["'/etc/passwd'", '"data.csv"', "(SELECT 1)", "a JOIN b", "glob('*')"]
)
def test_table_must_be_a_qualified_identifier(tmp_path, table):
    def set_table(exp, _):
        exp["data"]["units"] = {"table": table, "unit_id": "uid"}

    with pytest.raises(ConfigError, match="table name"):
        load_experiment(tiny_case(tmp_path, set_table))


def test_schema_read_happens_after_lock_down(tmp_path):
    """A segment source in the data folder cannot read another file of that folder."""
    (tmp_path / "secret.csv").write_text("uid,platform\n1,leaked\n")
    path = tiny_case(tmp_path)
    experiment = load_experiment(path)
    from abkit.analysis.queries import locked_engine

    with locked_engine(experiment) as engine, pytest.raises(abkit.AbkitError):
        engine.query(f"SELECT * FROM read_csv('{tmp_path / 'secret.csv'}')")


def test_url_is_refused_without_installing_an_extension(tmp_path):
    def remote(exp, _):
        exp["data"]["units"]["path"] = "https://example.invalid/units.parquet"

    line = one_line_error(cli("analyze", tiny_case(tmp_path, remote)))
    assert "is remote" in line and "ABKIT_ALLOW_REMOTE_DATA" in line
    assert "install" not in line


def test_extension_autoload_is_off_on_a_private_connection():
    from abkit.engines.duckdb import DuckDBEngine

    settings = (
        DuckDBEngine()
        .connection.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('autoinstall_known_extensions', 'autoload_known_extensions')"
        )
        .fetchall()
    )
    assert dict(settings) == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


def test_fifo_as_data_path_is_refused_not_waited_on(tmp_path):
    def fifo(exp, directory):
        os.mkfifo(directory / "units_fifo.parquet")
        exp["data"]["units"]["path"] = "units_fifo.parquet"

    path = tiny_case(tmp_path, fifo)
    with pytest.raises(DataError, match="not a regular file"):
        abkit.analyze(path)


def test_billion_laughs_is_refused_quickly(tmp_path):
    path = tiny_case(tmp_path)
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for parent, child in zip("abcdefgh", "bcdefghi", strict=True):
        laughs += f"{child}: &{child} [{', '.join(['*' + parent] * 9)}]\n"
    path.write_text(path.read_text() + laughs + "title: *i\n")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than") as error:
        load_experiment(path)
    assert time.perf_counter() - started < 2
    assert len(str(error.value)) < 300


@pytest.mark.parametrize("option", ["end", "as_of"])
def test_far_future_end_returns_promptly_with_the_same_looks(tmp_path, option):
    import datetime as dt

    path = tiny_case(tmp_path)
    baseline = abkit.analyze(path)
    far = dt.date(9999, 12, 31)
    started = time.perf_counter()
    if option == "end":
        experiment = load_experiment(path).with_end(far)
        result = abkit.analyze(experiment)
    else:
        result = abkit.analyze(path, as_of=far)
    assert time.perf_counter() - started < 20
    looks = [len(s.looks) for s in result.series]
    assert looks == [len(s.looks) for s in baseline.series]
    assert max(looks) <= 20
