"""A calendar pre-period (fixed dates) for CUPED, beside "N days before exposure"."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from abkit.aggregates.rows import read_moments
from abkit.analysis.queries import run_queries
from abkit.config import load_experiment
from abkit.errors import ConfigError
from abkit.sql.render import render_analysis_sql
from abkit.sql.variables import experiment_variables
from tests.conftest import tiny_exp_dict, tiny_tables, write_tiny

SINCE, UNTIL = dt.date(2026, 2, 27), dt.date(2026, 3, 3)


def _expected(since: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
    tables = tiny_tables()
    assignments = tables["assignments"]
    arms = assignments.groupby("uid").agg(
        n=("arm", "nunique"), arm=("arm", "min"), exposed=("seen_at", "min")
    )
    units = arms[arms["n"] == 1]
    events = tables["events"].merge(units, left_on="uid", right_index=True)
    counted = events[
        (events["name"] == "message")
        & (events["at"] >= since)
        & (events["at"] < until)
        & (events["at"] < events["exposed"])
    ]
    values = counted.groupby("uid").size().reindex(units.index, fill_value=0)
    return pd.DataFrame({"arm": units["arm"], "value": values})


def test_calendar_pre_period_counts_fixed_dates_before_exposure(tmp_path):
    spec = tiny_exp_dict() | {
        "pre_period": {"start": SINCE.isoformat(), "end": UNTIL.isoformat()}
    }
    experiment = load_experiment(write_tiny(tmp_path / "calendar", spec))
    assert experiment.pre_period is not None
    assert experiment.pre_period.start == SINCE
    sql = render_analysis_sql(experiment)
    assert "CAST('2026-02-27 00:00:00' AS TIMESTAMP)" in sql
    plans = experiment_variables(experiment)
    overall = read_moments(run_queries(experiment).moments, plans, ())[None]
    expected = _expected(pd.Timestamp(SINCE), pd.Timestamp(UNTIL))
    for arm in ("control", "treatment"):
        pre = overall[arm]["messages"].marginal("pre")
        values = expected.loc[expected["arm"] == arm, "value"].to_numpy(float)
        assert pre.n == values.size
        assert pre.sum == pytest.approx(values.sum(), rel=1e-12)
        assert pre.sum_sq == pytest.approx((values**2).sum(), rel=1e-12)
    # the range reaches into the experiment, yet no event after exposure counts,
    # and it differs from the default "14 days before each exposure"
    default = load_experiment(write_tiny(tmp_path / "days"))
    days = read_moments(
        run_queries(default).moments, experiment_variables(default), ()
    )[None]
    assert days["control"]["messages"].marginal("pre").sum != pytest.approx(
        overall["control"]["messages"].marginal("pre").sum
    )


def test_calendar_pre_period_must_not_be_empty(tmp_path):
    spec = tiny_exp_dict() | {
        "pre_period": {"start": "2026-03-01", "end": "2026-03-01"}
    }
    with pytest.raises(ConfigError, match="must be after its start"):
        load_experiment(write_tiny(tmp_path / "empty", spec))


def test_coverage_check_names_the_calendar_range(tmp_path):
    import abkit

    spec = tiny_exp_dict() | {
        "pre_period": {"start": SINCE.isoformat(), "end": UNTIL.isoformat()}
    }
    result = abkit.analyze(write_tiny(tmp_path / "calendar", spec))
    check = next(c for c in result.health if c.name == "pre_period_coverage")
    assert "2026-02-27 to 2026-03-03" in check.message
