"""Daily looks on the demo: running sums from SQL equal pandas; --as-of equals a look."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import abkit
from abkit.aggregates.rows import read_daily
from abkit.analysis.monitoring import cumulative
from abkit.analysis.queries import run_queries
from abkit.config import load_experiment
from abkit.sql.variables import experiment_variables


@pytest.fixture(scope="module")
def full(demo_exp):
    return abkit.analyze(demo_exp)


def test_daily_cumulative_moments_equal_pandas(demo_exp):
    experiment = load_experiment(demo_exp)
    daily = read_daily(
        run_queries(experiment).moments, experiment_variables(experiment)
    )
    metric = experiment.metric("messages_per_user")

    data = demo_exp.parent.parent / "demo"
    assignments = pd.read_parquet(data / "assignments.parquet")
    first = assignments.groupby("user_id").agg(
        n=("variant", "nunique"), variant=("variant", "min"), at=("exposed_at", "min")
    )
    users = first[first["n"] == 1]
    events = pd.read_parquet(
        data / "events.parquet", columns=["user_id", "ts", "event"]
    )
    messages = events[events["event"] == "message"].merge(users, left_on="user_id",
                                                          right_index=True)  # fmt: skip
    offset = messages["ts"] - messages["at"]
    in_window = messages[(offset >= pd.Timedelta(0)) & (offset < pd.Timedelta(days=7))]
    values = in_window.groupby("user_id").size().reindex(users.index, fill_value=0)

    for day in (dt.date(2026, 10, 14), dt.date(2026, 10, 19), dt.date(2026, 10, 26)):
        complete = users["at"] + pd.Timedelta(days=7) <= pd.Timestamp(day)
        for variant in ("control", "treatment"):
            expected = values[complete & (users["variant"] == variant)].to_numpy(float)
            got = cumulative(daily[variant], metric, day)
            assert got is not None
            assert got.n == expected.size
            assert got.sums[0] == pytest.approx(expected.sum(), rel=1e-12)
            assert got.cross[0][0] == pytest.approx((expected**2).sum(), rel=1e-12)


def test_as_of_equals_that_mornings_look(demo_exp, full):
    day = dt.date(2026, 10, 19)
    morning = abkit.analyze(demo_exp, as_of=day)
    for metric in ("messages_per_user", "match_rate", "d1_retention"):
        series = full.series_for(metric)
        assert series is not None
        look = next(look for look in series.looks if look.day == day)
        effect = morning.metric(metric).effect
        # that morning, units whose second (conflicting) exposure came later were
        # still in; the series, computed today, already excludes them
        assert abs(effect.control.n - look.n_control) <= 0.002 * look.n_control
        assert abs(effect.treatment.n - look.n_treatment) <= 0.002 * look.n_treatment
        assert effect.difference == pytest.approx(
            look.difference, abs=0.05 * look.standard_error
        )
        assert effect.standard_error == pytest.approx(look.standard_error, rel=0.01)


def test_final_look_equals_the_scorecard(full):
    for result in full.metrics:
        series = full.series_for(result.metric, result.variant)
        assert series is not None and series.current is not None
        assert series.current.difference == pytest.approx(
            result.effect.difference, rel=1e-9
        )


def test_demo_shows_a_sequential_verdict_for_each_metric(full):
    assert full.sequential is not None and full.sequential.method == "gst"
    for series in full.series:
        assert series.method == "gst"
        assert len(series.looks) >= 10
        looks = series.looks
        assert all(look.z_bound >= 1.96 for look in looks)  # never looser than fixed
        # the repeated CI is at least as wide as the fixed-horizon CI at every look
        assert all(
            look.sequential_upper - look.sequential_lower
            >= look.ci_upper - look.ci_lower - 1e-12
            for look in looks
        )
        if series.crossed:
            crossing = next(look for look in looks if look.day == series.crossing_day)
            assert abs(crossing.z) > crossing.z_bound
    assert full.sequential_srm is not None and not full.sequential_srm.flagged
    days = np.array([look.day for look in full.series[0].looks])
    assert (np.diff(days) > dt.timedelta(0)).all()


def test_effect_by_day_since_exposure_equals_pandas(demo_exp, full):
    data = demo_exp.parent.parent / "demo"
    assignments = pd.read_parquet(data / "assignments.parquet")
    first = assignments.groupby("user_id").agg(
        n=("variant", "nunique"), variant=("variant", "min"), at=("exposed_at", "min")
    )
    users = first[first["n"] == 1]
    events = pd.read_parquet(
        data / "events.parquet", columns=["user_id", "ts", "event"]
    )
    messages = events[events["event"] == "message"].merge(
        users, left_on="user_id", right_index=True
    )
    offset = (messages["ts"] - messages["at"]) / pd.Timedelta(days=1)
    last_event = events["ts"].max()
    assert [p.day_since_exposure for p in full.novelty] == list(range(7))
    for point in (full.novelty[0], full.novelty[4]):
        day = point.day_since_exposure
        counted = (
            messages[(offset >= day) & (offset < day + 1)].groupby("user_id").size()
        )
        values = counted.reindex(users.index, fill_value=0)
        complete = users["at"] + pd.Timedelta(days=day + 1) <= last_event
        means = {
            v: values[complete & (users["variant"] == v)].mean()
            for v in ("control", "treatment")
        }
        assert point.relative == pytest.approx(means["treatment"] / means["control"] - 1,
                                               rel=1e-9)  # fmt: skip


# --- every metric gets daily looks; guardrails monitored one-sided ----------------


@pytest.fixture(scope="module")
def open_window(tmp_path_factory):
    """The tiny log with an open-window metric, a GST plan and a guardrail on it."""
    import yaml

    from tests.conftest import TINY_METRICS, tiny_exp_dict, write_tiny

    path = write_tiny(tmp_path_factory.mktemp("open") / "tiny")
    metrics = {"metrics": TINY_METRICS["metrics"] | {
        "messages_open": {"kind": "mean", "events": ["message"]},
    }}  # fmt: skip
    (path.parent / "metrics.yaml").write_text(yaml.safe_dump(metrics))
    spec = tiny_exp_dict() | {
        "metrics": ["messages", "messages_open"],
        "sequential": {"method": "gst", "planned_units": 600},
        "decision": {"primary": "messages",
                     "guardrails": {"messages_open": {"margin": 0.5}}},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(spec))
    return path, abkit.analyze(path)


def test_open_window_metric_gets_daily_looks(open_window):
    path, result = open_window
    series = result.series_for("messages_open")
    assert series is not None and series.method == "gst"
    assert series.status == "ok" and len(series.looks) >= 4
    # a look holds the units exposed before that morning (measured with today's data)
    assignments = pd.read_parquet(path.parent / "assignments.parquet")
    arms = assignments.groupby("uid").agg(n=("arm", "nunique"), arm=("arm", "min"),
                                          at=("seen_at", "min"))  # fmt: skip
    single = arms[arms["n"] == 1]
    for look in series.looks:
        exposed = single[single["at"] < pd.Timestamp(look.day)]
        assert look.n_control == (exposed["arm"] == "control").sum()
        assert look.n_treatment == (exposed["arm"] == "treatment").sum()
        assert look.information == pytest.approx(1 / look.standard_error**2)
    totals = [look.n_control + look.n_treatment for look in series.looks]
    assert (np.diff(totals) > 0).all()  # a plateau adds no look, and no error
    final = result.metric("messages_open").effect
    assert series.current.difference == pytest.approx(final.difference, rel=1e-9)
    assert all(look.z_bound >= 1.96 for look in series.looks)
    # the windowed metric keeps looking after enrolment (windows still complete)
    windowed = result.series_for("messages")
    assert windowed.looks[-1].day > series.looks[-1].day


def test_sequential_table_lists_every_metric(open_window):
    from abkit.report.formatting import sequential_design, sequential_rows

    _, result = open_window
    rows = sequential_rows(result)
    assert {row[0] for row in rows} == {"messages", "messages_open"}
    assert "α/2 per side" in sequential_design(result.sequential)


def test_guardrail_is_monitored_one_sided(open_window):
    from abkit.stats.sequential import group_sequential_test

    _, result = open_window
    series = result.series_for("messages_open")
    guard = series.non_inferiority
    assert guard is not None and guard.method == "gst"
    looks = series.looks
    margins = [0.5 * abs(look.control_mean) for look in looks]
    shifted = [look.difference + m for look, m in zip(looks, margins, strict=True)]
    errors = [look.standard_error for look in looks]
    expected = group_sequential_test(
        [s / e for s, e in zip(shifted, errors, strict=True)],
        [(look.n_control + look.n_treatment) / 600 for look in looks],
        0.05, estimates=shifted, standard_errors=errors, alternative="greater",
    )  # fmt: skip
    assert guard.gain_lower == pytest.approx(
        [lo - m for lo, m in zip(expected.ci_lower, margins, strict=True)]
    )
    assert guard.shown == expected.crossed
    assert guard.shown  # a 50% margin on an A/A-like log is shown safe
    assert result.series_for("messages").non_inferiority is None
    assert result.to_dict()["series"][1]["non_inferiority"]["shown"] is True


def test_sequential_srm_after_enrolment_says_nothing_new(open_window):
    _, result = open_window
    assert result.sequential_srm is not None
    assert result.sequential_srm.status == "no_new_units"


def test_novelty_view_off_drops_its_columns_and_changes_no_other_number(demo_exp, full):
    """`novelty_view: false`: no per-day columns in the query, the same scorecard."""
    from abkit.analysis.query_plan import analysis_queries

    off = demo_exp.with_name("exp_novelty_off.yaml")  # beside it: same relative paths
    off.write_text(
        demo_exp.read_text(encoding="utf-8") + "\nnovelty_view: false\n",
        encoding="utf-8",
    )
    quiet = abkit.analyze(off)
    assert full.novelty and not quiet.novelty
    on_sql = analysis_queries(load_experiment(demo_exp))["moments"]
    off_sql = analysis_queries(load_experiment(off))["moments"]
    assert "__day0" in on_sql and "__day0" not in off_sql
    for a, b in zip(full.metrics + full.segment_results,
                    quiet.metrics + quiet.segment_results, strict=True):  # fmt: skip
        assert (a.metric, a.variant) == (b.metric, b.variant)
        # equal up to the engine's parallel summation order
        assert b.effect.difference == pytest.approx(a.effect.difference, rel=1e-9)
        assert b.effect.pvalue == pytest.approx(a.effect.pvalue, rel=1e-9, abs=1e-15)
