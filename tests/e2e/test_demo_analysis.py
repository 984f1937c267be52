"""End to end on the seeded demo log: SQL + statistics against pandas/numpy by hand."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import abkit
from abkit.analysis.results import AnalysisResult
from abkit.stats.welch import EffectResult
from tests.conftest import EXAMPLES


def unadjusted(result: AnalysisResult, metric: str) -> EffectResult:
    found = result.metric(metric)
    return found.unadjusted if found.unadjusted is not None else found.effect


@pytest.fixture(scope="module")
def demo_result(demo_exp: Path) -> AnalysisResult:
    return abkit.analyze(demo_exp)


@pytest.fixture(scope="module")
def unit_frame(demo_exp: Path) -> pd.DataFrame:
    """Per exposed user (single variant): variant, exposure, and 7-day window counts."""
    data = demo_exp.parent.parent / "demo"
    assignments = pd.read_parquet(data / "assignments.parquet")
    per_user = assignments.groupby("user_id").agg(
        n=("variant", "nunique"),
        variant=("variant", "min"),
        exposed_at=("exposed_at", "min"),
    )
    users = per_user[per_user["n"] == 1].drop(columns="n")
    events = pd.read_parquet(data / "events.parquet")
    joined = events.merge(users, left_on="user_id", right_index=True)
    offset = joined["ts"] - joined["exposed_at"]
    window = joined[(offset >= pd.Timedelta(0)) & (offset < pd.Timedelta(days=7))]
    counts = window.pivot_table(
        index="user_id", columns="event", values="ts", aggfunc="count", fill_value=0
    )
    users = users.join(counts).fillna(0)
    users["revenue"] = (
        window[window["event"] == "purchase"].groupby("user_id")["value"].sum()
    )
    users["revenue"] = users["revenue"].fillna(0.0)
    pre = joined[(offset >= pd.Timedelta(days=-7)) & (offset < pd.Timedelta(0))]
    users["pre_revenue_7d"] = (
        pre[pre["event"] == "purchase"].groupby("user_id")["value"].sum()
    )
    users["pre_revenue_7d"] = users["pre_revenue_7d"].fillna(0.0)
    complete = users["exposed_at"] + pd.Timedelta(days=7) <= events["ts"].max()
    return users[complete]


def test_demo_ci_for_messages_contains_the_true_lift(demo_exp, demo_result):
    manifest = json.loads(
        (demo_exp.parent.parent / "demo" / "manifest.json").read_text()
    )
    truth = manifest["true_lifts"]["treatment"]["messages"]
    effect = demo_result.metric("messages_per_user").effect
    assert effect.relative_ci_lower < truth < effect.relative_ci_upper
    assert demo_result.healthy


def test_demo_scorecard_has_the_whole_catalogue(demo_result):
    names = {m.metric for m in demo_result.metrics}
    assert len(names) == 15
    assert all(m.effect.status == "ok" for m in demo_result.metrics), [
        (m.metric, m.effect.status)
        for m in demo_result.metrics
        if m.effect.status != "ok"
    ]
    checks = {c.name for c in demo_result.health}
    assert {"srm", "srm_by_day", "srm_by_segment", "multiple_variants", "contamination",
            "pre_period_balance", "units_without_events"} <= checks  # fmt: skip


def test_ratio_metric_equals_delta_method_on_user_arrays(demo_result, unit_frame):
    effect = unadjusted(demo_result, "match_rate")
    for arm, variant in ((effect.control, "control"), (effect.treatment, "treatment")):
        users = unit_frame[unit_frame["variant"] == variant]
        matches, likes = users["match"].to_numpy(float), users["like"].to_numpy(float)
        ratio = matches.sum() / likes.sum()
        linearized = (matches - ratio * likes) / likes.mean()
        assert arm.n == users.shape[0]
        assert arm.mean == pytest.approx(ratio, rel=1e-12)
        assert arm.mean_variance == pytest.approx(
            linearized.var(ddof=1) / arm.n, rel=1e-9
        )


def test_naive_per_event_variance_is_too_narrow(demo_result, unit_frame):
    """Swipes of one member share her like propensity: they are not independent trials."""
    effect = unadjusted(demo_result, "like_rate")
    users = unit_frame[unit_frame["variant"] == "control"]
    likes, swipes = users["like"].to_numpy(float), users["swipe"].to_numpy(float)
    ratio = likes.sum() / swipes.sum()
    naive = ratio * (1 - ratio) / swipes.sum()
    assert effect.control.mean == pytest.approx(ratio, rel=1e-12)
    assert naive < 0.5 * effect.control.mean_variance


def test_winsorized_revenue_equals_numpy_clipping(demo_result, unit_frame):
    pre = unit_frame["pre_revenue_7d"]
    effect = unadjusted(demo_result, "revenue_per_user")
    # the cap is pooled over every exposed unit; unit_frame keeps complete windows only,
    # which is all of them in the demo (exposures end 7 days before the data)
    cap = np.quantile(pre[pre > 0].to_numpy(), 0.99)
    for arm, variant in ((effect.control, "control"), (effect.treatment, "treatment")):
        revenue = unit_frame.loc[unit_frame["variant"] == variant, "revenue"].to_numpy()
        assert arm.mean == pytest.approx(np.minimum(revenue, cap).mean(), rel=1e-9)
    assert (unit_frame["revenue"] > cap).any(), (
        "the cap must bind for this test to mean much"
    )


def test_segment_results_equal_the_analysis_of_filtered_data(
    demo_exp, demo_result, tmp_path
):
    data = demo_exp.parent.parent / "demo"
    units = pd.read_parquet(data / "units.parquet")
    ios = units.loc[units["platform"] == "ios", "user_id"]
    filtered = tmp_path / "demo"
    filtered.mkdir()
    assignments = pd.read_parquet(data / "assignments.parquet")
    assignments[assignments["user_id"].isin(ios)].to_parquet(
        filtered / "assignments.parquet"
    )
    for name in ("events", "units"):
        shutil.copy(data / f"{name}.parquet", filtered / f"{name}.parquet")
    spec = yaml.safe_load((EXAMPLES / "exp.yaml").read_text())
    spec["segments"] = []
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLES / "metrics.yaml", tmp_path / "examples" / "metrics.yaml")
    (tmp_path / "examples" / "exp.yaml").write_text(yaml.safe_dump(spec))
    alone = abkit.analyze(tmp_path / "examples" / "exp.yaml")
    segment = {
        r.metric: r for r in demo_result.segment_results
        if r.segment == "platform" and r.segment_value == "ios"
    }  # fmt: skip
    for result in alone.metrics:
        if result.metric == "revenue_per_user":
            continue  # its cap is pooled over the whole experiment, by design
        mine = segment[result.metric].effect
        assert mine.control.n == result.effect.control.n
        assert mine.pvalue == pytest.approx(result.effect.pvalue, rel=1e-9, abs=1e-15)
        assert mine.relative == pytest.approx(
            result.effect.relative, rel=1e-9, abs=1e-15
        )


def test_multi_covariate_adjustment_equals_pooled_ols(demo_exp, tmp_path):
    spec = yaml.safe_load(demo_exp.read_text())
    spec["metrics"] = ["messages_per_user", "sessions_per_user"]
    spec.pop("decision")
    spec["segments"] = []
    spec["cuped"] = {
        "covariates": ["sessions_per_user"],
        "unit_covariates": ["prior_payer"],
    }
    path = demo_exp.parent / "exp_cuped_plus.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = abkit.analyze(path).metric("messages_per_user")
    single = abkit.analyze(demo_exp).metric("messages_per_user")
    assert result.cuped is not None and result.cuped.status == "ok"
    assert result.cuped.covariates == (
        "pre",
        "cov__sessions_per_user",
        "unit__prior_payer",
    )

    data = demo_exp.parent.parent / "demo"
    assignments = pd.read_parquet(data / "assignments.parquet")
    first = assignments.groupby("user_id").agg(
        n=("variant", "nunique"), variant=("variant", "min"), at=("exposed_at", "min")
    )
    users = first[first["n"] == 1]
    events = pd.read_parquet(
        data / "events.parquet", columns=["user_id", "ts", "event"]
    )
    joined = events.merge(users, left_on="user_id", right_index=True)
    offset = (joined["ts"] - joined["at"]) / pd.Timedelta(days=1)

    def count(event: str, low: float, high: float) -> pd.Series:
        mask = (joined["event"] == event) & (offset >= low) & (offset < high)
        return joined[mask].groupby("user_id").size().reindex(users.index, fill_value=0)

    y = count("message", 0, 7).to_numpy(float)
    units = pd.read_parquet(data / "units.parquet").set_index("user_id")
    covariates = np.column_stack([
        count("message", -14, 0), count("session", -14, 0),
        units["prior_payer"].reindex(users.index).astype(float),
    ])  # fmt: skip
    centred = covariates - covariates.mean(axis=0)
    slopes, *_ = np.linalg.lstsq(centred, y - y.mean(), rcond=None)
    np.testing.assert_allclose(result.cuped.coefficients, slopes, rtol=1e-8)
    assert (
        result.variance_reduction is not None and single.variance_reduction is not None
    )
    assert result.variance_reduction >= single.variance_reduction - 0.01
