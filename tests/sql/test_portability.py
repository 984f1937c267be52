"""The SQL abkit prints is the SQL it runs: pasted elsewhere it gives the same numbers."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

import abkit
from abkit.aggregates.moments import Moments
from abkit.analysis.assembly import build_result
from abkit.analysis.queries import run_queries
from abkit.config import load_experiment
from abkit.frontends.cli import app
from abkit.stats.welch import ArmEstimate, welch_test
from tests.conftest import tiny_tables


def test_pasted_duckdb_sql_reproduces_analyze(tiny_exp):
    printed = CliRunner().invoke(app, ["sql", str(tiny_exp), "--query", "moments"])
    assert printed.exit_code == 0
    rows = duckdb.connect().execute(printed.stdout.split(";")[0]).fetch_df()
    rows = rows[rows["exposure_key"].isna()]
    by_variant = rows.set_index("variant")
    arms = [
        ArmEstimate.from_moments(Moments(
            int(by_variant.loc[v, "messages__n"]),
            float(by_variant.loc[v, "messages__sum"]),
            float(by_variant.loc[v, "messages__sum_sq"]),
        ))
        for v in ("control", "treatment")
    ]  # fmt: skip
    pasted = welch_test(arms[0], arms[1])
    analysed = abkit.analyze(tiny_exp, cuped=False).metric("messages").effect
    assert pasted.pvalue == pytest.approx(analysed.pvalue, rel=1e-12)
    assert pasted.ci_lower == pytest.approx(analysed.ci_lower, rel=1e-12)


def test_analyze_on_the_users_own_connection_and_tables(tiny_exp, tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA app")
    for name, frame in tiny_tables().items():
        con.register(f"frame_{name}", frame)
        con.execute(f"CREATE TABLE app.{name} AS SELECT * FROM frame_{name}")
    text = tiny_exp.read_text()
    for name in ("assignments", "events", "units"):
        text = text.replace(f"path: {name}.parquet", f"table: app.{name}")
    path = tiny_exp.parent / "exp_tables.yaml"
    path.write_text(text)
    on_tables = abkit.analyze(path, con=con)
    on_files = abkit.analyze(tiny_exp)
    assert on_tables.units == on_files.units
    for left, right in zip(on_tables.metrics, on_files.metrics, strict=True):
        assert left.effect.pvalue == pytest.approx(right.effect.pvalue, rel=1e-12)
    assert con.execute("SELECT 42").fetchone() == (42,), (
        "the user's connection stays open"
    )


def test_build_result_is_pure_given_the_query_frames(tiny_exp):
    experiment = load_experiment(tiny_exp)
    frames = run_queries(experiment)
    first, second = build_result(experiment, frames), build_result(experiment, frames)
    assert first.to_frame().equals(second.to_frame())
