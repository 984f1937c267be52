"""Moments from queries/*.sql equal pandas on the same data (two roads, one answer)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from abkit.aggregates.rows import Row, Rows, table_rows
from abkit.analysis.queries import split_health
from abkit.config import load_experiment
from abkit.sql.render import (
    render_analysis_and_health_sql,
    render_analysis_sql,
    render_health_sql,
)
from tests.conftest import tiny_tables


def pandas_moments(
    tables: dict[str, pd.DataFrame], data_end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The same moments computed row by row in pandas (windows, zeros, censoring)."""
    assignments, events = tables["assignments"], tables["events"]
    per_unit = assignments.groupby("uid").agg(
        n_variants=("arm", "nunique"),
        variant=("arm", "min"),
        exposed_at=("seen_at", "min"),
    )
    exposures = per_unit[per_unit["n_variants"] == 1]
    data_end = events["at"].max() if data_end is None else data_end
    joined = events.merge(exposures, left_on="uid", right_index=True)
    offset = joined["at"] - joined["exposed_at"]
    post = joined[(offset >= pd.Timedelta(0)) & (offset < pd.Timedelta(days=7))]
    pre = joined[(offset >= pd.Timedelta(days=-14)) & (offset < pd.Timedelta(0))]
    values = exposures[["variant"]].copy()
    for suffix, frame in (("", post), ("__pre", pre)):
        purchases = frame[frame["name"] == "purchase"]
        values["messages" + suffix] = (
            frame[frame["name"] == "message"].groupby("uid").size()
        )
        values["revenue" + suffix] = purchases.groupby("uid")["amount"].sum()
        values["payer" + suffix] = (purchases.groupby("uid").size() > 0).astype(float)
    values = values.fillna(0.0)
    complete = exposures["exposed_at"] + pd.Timedelta(days=7) <= data_end
    values.loc[~complete, values.columns.drop("variant")] = np.nan
    rows = []
    for variant, group in values.groupby("variant"):
        row: dict[str, object] = {"variant": variant, "n_units": len(group)}
        for metric in ("messages", "revenue", "payer"):
            y, x = group[metric], group[metric + "__pre"]
            row[f"{metric}__n"] = int(y.notna().sum())
            row[f"{metric}__sum"] = y.sum(min_count=1)
            row[f"{metric}__sum_sq"] = (y**2).sum(min_count=1)
            row[f"{metric}__pre__sum"] = x.sum(min_count=1)
            row[f"{metric}__pre__sum_sq"] = (x**2).sum(min_count=1)
            row[f"{metric}__value__pre__sum_prod"] = (x * y).sum(min_count=1)
        rows.append(row)
    return pd.DataFrame(rows)


def overall(rows: pd.DataFrame) -> pd.DataFrame:
    """The per-variant rows of moments.sql (not the daily exposure-key rows)."""
    return rows[rows["exposure_key"].isna()].sort_values("variant")


def assert_same_moments(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = overall(got)
    assert list(got["variant"]) == list(expected["variant"])
    for column in expected.columns.drop("variant"):
        np.testing.assert_allclose(
            got[column].astype(float),
            expected[column].astype(float),
            rtol=1e-12,
            err_msg=column,
        )


def test_sql_moments_equal_pandas(tiny_exp):
    experiment = load_experiment(tiny_exp)
    got = duckdb.connect().execute(render_analysis_sql(experiment)).fetch_df()
    assert_same_moments(got.sort_values("variant"), pandas_moments(tiny_tables()))


def test_multi_variant_unit_is_excluded_and_counted(tiny_exp):
    experiment = load_experiment(tiny_exp)
    health = duckdb.connect().execute(render_health_sql(experiment)).fetch_df()
    multi = health[health["multiple_variants"]]
    assert int(multi["n_units"].sum()) == 1
    assert int(health["n_units"].sum()) == 600


def assert_same_rows(left: Rows, right: Rows) -> None:
    """The same rows in any order, floats to a relative 1e-12."""

    def key(row: Row) -> str:
        return repr([(k, v) for k, v in row.items() if not isinstance(v, float)])

    assert len(left) == len(right)
    for a, b in zip(sorted(left, key=key), sorted(right, key=key), strict=True):
        assert a.keys() == b.keys()
        for column, value in a.items():
            if isinstance(value, float):
                assert value == pytest.approx(b[column], rel=1e-12, abs=1e-9), column
            else:
                assert value == b[column], column


@pytest.mark.parametrize("as_of", [None, "2026-03-10"])
def test_the_fused_statement_equals_the_moments_and_health_queries(tiny_exp, as_of):
    # one statement instead of two: the same rows, the assignments grouped once
    experiment = load_experiment(tiny_exp)
    if as_of is not None:
        experiment = experiment.with_end(pd.Timestamp(as_of).date())
    con = duckdb.connect()
    fused = table_rows(
        con.sql(render_analysis_and_health_sql(experiment)).to_arrow_table()
    )
    moments, health = split_health(fused)
    alone = table_rows(con.sql(render_analysis_sql(experiment)).to_arrow_table())
    # equal up to the order of float additions (DuckDB sums in parallel)
    assert_same_rows(moments, alone)
    kept = table_rows(con.sql(render_health_sql(experiment)).to_arrow_table())
    assert_same_rows(health, kept)
    assert sum(row["n_units"] for row in health if row["multiple_variants"]) == 1
    sql = render_analysis_and_health_sql(experiment)
    assert sql.count("GROUP BY unit_id") == 1  # exposures come from assignment_units


def test_as_of_drops_later_events_and_censors_open_windows(tiny_exp):
    experiment = load_experiment(tiny_exp)
    end = pd.Timestamp("2026-03-10")
    cut = experiment.with_end(end.date())
    got = duckdb.connect().execute(render_analysis_sql(cut)).fetch_df()
    tables = tiny_tables()
    tables["events"] = tables["events"][tables["events"]["at"] < end]
    tables["assignments"] = tables["assignments"][
        tables["assignments"]["seen_at"] < end
    ]
    expected = pandas_moments(tables, data_end=end)
    assert 0 < expected["messages__n"].sum() < expected["n_units"].sum()
    assert_same_moments(got.sort_values("variant"), expected)


@pytest.mark.parametrize(
    "dialect", ["duckdb", "spark", "bigquery", "snowflake", "trino", "postgres"]
)
def test_analysis_sql_transpiles_and_parses(tiny_exp, dialect):
    import sqlglot

    from abkit.sql.dialects import transpile

    sql = transpile(render_analysis_sql(load_experiment(tiny_exp)), dialect)
    assert sqlglot.parse_one(sql, read=dialect) is not None
    assert "messages__sum_sq" in sql
