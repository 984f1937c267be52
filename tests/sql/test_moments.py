"""Moments from queries/*.sql equal pandas on the same data (two roads, one answer)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from abkit.config import load_experiment
from abkit.sql import render_analysis_sql, render_health_sql
from tests.conftest import tiny_tables


def pandas_moments(
    tables: dict[str, pd.DataFrame], window_days: int = 7
) -> pd.DataFrame:
    assignments, events = tables["assignments"], tables["events"]
    per_unit = assignments.groupby("uid").agg(
        n_variants=("arm", "nunique"),
        variant=("arm", "min"),
        exposed_at=("seen_at", "min"),
    )
    exposures = per_unit[per_unit["n_variants"] == 1].reset_index()
    joined = events.merge(exposures, on="uid")
    offset = joined["at"] - joined["exposed_at"]
    in_window = joined[
        (offset >= pd.Timedelta(0)) & (offset < pd.Timedelta(days=window_days))
    ]
    messages = in_window[in_window["name"] == "message"].groupby("uid").size()
    purchases = in_window[in_window["name"] == "purchase"]
    revenue = purchases.groupby("uid")["amount"].sum()
    payer = (purchases.groupby("uid").size() > 0).astype(float)
    values = (
        exposures.set_index("uid")[["variant"]]
        .assign(messages=messages, revenue=revenue, payer=payer)
        .fillna(0.0)
    )
    rows = []
    for variant, group in values.groupby("variant"):
        row: dict[str, object] = {"variant": variant, "n_units": len(group)}
        for metric in ("messages", "revenue", "payer"):
            row[f"{metric}__sum"] = group[metric].sum()
            row[f"{metric}__sum_sq"] = (group[metric] ** 2).sum()
        rows.append(row)
    frame: pd.DataFrame = pd.DataFrame(rows)
    return frame


def test_sql_moments_equal_pandas(tiny_exp):
    experiment = load_experiment(tiny_exp)
    got = duckdb.connect().execute(render_analysis_sql(experiment)).fetch_df()
    expected = pandas_moments(tiny_tables())
    assert list(got["variant"]) == list(expected["variant"])
    np.testing.assert_array_equal(got["n_units"], expected["n_units"])
    for column in expected.columns.drop(["variant", "n_units"]):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-12)


def test_multi_variant_unit_is_excluded_and_counted(tiny_exp):
    experiment = load_experiment(tiny_exp)
    health = duckdb.connect().execute(render_health_sql(experiment)).fetch_df()
    multi = health[health["multiple_variants"]]
    assert int(multi["n_units"].sum()) == 1
    assert int(health["n_units"].sum()) == 600


def test_as_of_drops_later_events(tiny_exp):
    experiment = load_experiment(tiny_exp)
    end = pd.Timestamp("2026-03-05")
    cut = experiment.with_end(end.date())
    got = duckdb.connect().execute(render_analysis_sql(cut)).fetch_df()
    tables = tiny_tables()
    tables["events"] = tables["events"][tables["events"]["at"] < end]
    tables["assignments"] = tables["assignments"][
        tables["assignments"]["seen_at"] < end
    ]
    expected = pandas_moments(tables)
    np.testing.assert_array_equal(got["n_units"], expected["n_units"])
    np.testing.assert_allclose(
        got["messages__sum"], expected["messages__sum"], rtol=1e-12
    )


@pytest.mark.parametrize(
    "dialect", ["duckdb", "spark", "bigquery", "snowflake", "trino", "postgres"]
)
def test_analysis_sql_transpiles_and_parses(tiny_exp, dialect):
    import sqlglot

    from abkit.sql import transpile

    sql = transpile(render_analysis_sql(load_experiment(tiny_exp)), dialect)
    assert sqlglot.parse_one(sql, read=dialect) is not None
    assert "messages__sum_sq" in sql
