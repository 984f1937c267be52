"""Cluster-randomized analysis against statsmodels OLS with cluster-robust covariance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import abkit
from abkit.analysis.clusters import overall_rows
from abkit.analysis.queries import run_queries
from abkit.config import load_experiment
from abkit.stats.cluster import ClusterArm, cluster_variance, design_effect, icc
from tests.e2e.test_aa_replay import city_log


@pytest.fixture(scope="module")
def city_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return city_log(tmp_path_factory.mktemp("cluster"))


def unit_rows(path: Path) -> pd.DataFrame:
    """Per-user message counts in the 7-day window, with arm and city, by pandas."""
    folder = path.parent
    assignments = pd.read_parquet(folder / "assignments.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    events = events.merge(assignments, on="user_id")
    inside = (
        (events["event"] == "message")
        & (events["ts"] < events["exposed_at"] + pd.Timedelta(days=7))
        & (events["ts"] >= events["exposed_at"])
    )
    counts = events[inside].groupby("user_id").size()
    rows = assignments.set_index("user_id")
    rows["y"] = counts.reindex(rows.index, fill_value=0).astype(float)
    rows["treat"] = (rows["variant"] == "treatment").astype(float)
    return rows.reset_index()


def cr0_se(
    rows: pd.DataFrame, regressors: list[str]
) -> sm.regression.linear_model.RegressionResultsWrapper:
    exog = sm.add_constant(rows[regressors]) if regressors else np.ones((len(rows), 1))
    return sm.OLS(rows["y"], exog).fit(
        cov_type="cluster", cov_kwds={"groups": rows["city"], "use_correction": False}
    )


def test_effect_matches_statsmodels_cluster_ols(city_exp: Path) -> None:
    """Same point estimate; SE = CR0 with the per-arm K/(K−1) factor (stated)."""
    rows = unit_rows(city_exp)
    result = abkit.analyze(city_exp)
    effect = result.metric("city_messages").effect
    fit = cr0_se(rows, ["treat"])
    assert effect.difference == pytest.approx(fit.params["treat"], rel=1e-10)
    per_arm = {}
    for variant, arm in rows.groupby("variant"):
        clusters = arm["city"].nunique()
        cr0 = float(cr0_se(arm, []).bse.iloc[0]) ** 2
        per_arm[variant] = (clusters, cr0)
    total_cr0 = sum(v for _, v in per_arm.values())
    assert total_cr0 == pytest.approx(float(fit.bse["treat"]) ** 2, rel=1e-9)
    corrected = sum(k / (k - 1) * v for k, v in per_arm.values())
    assert effect.standard_error == pytest.approx(math.sqrt(corrected), rel=1e-9)
    default = sm.OLS(rows["y"], sm.add_constant(rows[["treat"]])).fit(
        cov_type="cluster", cov_kwds={"groups": rows["city"]}
    )  # statsmodels' G/(G−1)·(N−1)/(N−k): within 5% of the per-arm factor here
    assert effect.standard_error == pytest.approx(float(default.bse["treat"]), rel=0.05)
    assert effect.df < 24  # Welch df counted in clusters, not users


def test_srm_counts_clusters_and_note_reports_design_effect(city_exp: Path) -> None:
    result = abkit.analyze(city_exp)
    assert sum(result.srm.counts) == 24
    row = result.metric("city_messages")
    assert row.cuped is None
    assert "randomized by city" in row.note and "design effect" in row.note
    naive_se = math.sqrt(sum(
        arm["y"].var(ddof=1) / len(arm) for _, arm in unit_rows(city_exp).groupby("variant")
    ))  # fmt: skip
    assert row.effect.standard_error > 3 * naive_se
    assert "randomized by city" in str(result)


def test_icc_and_design_effect_from_sums(city_exp: Path) -> None:
    """ICC from the SQL sums equals the one-way ANOVA estimator on the rows."""
    frame = run_queries(load_experiment(city_exp)).clusters
    assert frame is not None
    rows = unit_rows(city_exp)
    for record in overall_rows(frame).to_dict("records"):
        arm_rows = rows[rows["variant"] == record["variant"]]
        arm = ClusterArm(*(record[f"city_messages__{k}"] for k in (
            "clusters", "units", "y", "y_sq", "d", "yc_sq", "dc_sq", "yd",
            "y_sq_over_units")))  # fmt: skip
        groups = arm_rows.groupby("city")["y"]
        k, n = groups.ngroups, len(arm_rows)
        sizes, means = groups.size(), groups.mean()
        msb = float((sizes * (means - arm_rows["y"].mean()) ** 2).sum()) / (k - 1)
        msw = float(((arm_rows["y"] - groups.transform("mean")) ** 2).sum()) / (n - k)
        n0 = (n - float((sizes**2).sum()) / n) / (k - 1)
        assert icc(arm) == pytest.approx((msb - msw) / (msb + (n0 - 1) * msw), rel=1e-9)
        iid = arm_rows["y"].var(ddof=1) / n
        assert design_effect(arm) == pytest.approx(
            cluster_variance(arm) / iid, rel=1e-9
        )
        assert design_effect(arm) > 5


def test_sequential_monitoring_of_a_cluster_design_runs(city_exp: Path) -> None:
    """`sequential:` with clusters randomized is accepted and gives a verdict."""
    import yaml

    spec = yaml.safe_load(city_exp.read_text())
    spec["sequential"] = {"method": "always_valid", "planned_units": 2400}
    sequential = city_exp.with_name("exp_sequential.yaml")
    sequential.write_text(yaml.safe_dump(spec))
    experiment = load_experiment(sequential)
    assert experiment.sequential is not None
    result = abkit.analyze(sequential)
    series = {s.metric: s for s in result.series}["city_messages"]
    assert series.method == "always_valid" and series.status == "ok"
    last = series.looks[-1]
    effect = result.metric("city_messages").effect
    assert last.standard_error == pytest.approx(effect.standard_error, rel=1e-12)
    assert last.sequential_lower < last.difference < last.sequential_upper
    assert last.sequential_upper - last.sequential_lower > last.ci_upper - last.ci_lower
