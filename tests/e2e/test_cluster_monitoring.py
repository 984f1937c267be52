"""Cluster-robust segments, daily looks and sequential monitoring, against statsmodels.

abkit's cluster-robust SE² of a difference is Σ_arms K_a/(K_a − 1)·CR0_a: statsmodels'
`cov_type="cluster"` CR0 (`use_correction=False`) of each arm's mean, times the
per-arm small-sample factor K_a/(K_a − 1) (not statsmodels' default
G/(G − 1)·(N − 1)/(N − k) over all G clusters at once). The CR0 variances of the arms
add up to the CR0 variance of the OLS coefficient of `y ~ 1 + treatment`, checked too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

import abkit
from abkit.analysis.cluster_looks import cluster_exposure_counts, read_cluster_daily
from abkit.analysis.clusters import PER_UNIT_NOTE, overall_rows, read_cluster_arms
from abkit.analysis.monitoring import MetricSeries, srm_series
from abkit.analysis.queries import run_queries
from abkit.analysis.results import AnalysisResult
from abkit.config import load_experiment
from abkit.frontends.cli import app
from tests.e2e.cluster_log import END_DAY, clustered_log, unit_rows

PLANNED = 1600


@pytest.fixture(scope="module")
def sequential_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clustered_log(
        tmp_path_factory.mktemp("cluster_looks"),
        sequential={"method": "gst", "planned_units": PLANNED},
    )


@pytest.fixture(scope="module")
def result(sequential_exp: Path) -> AnalysisResult:
    return abkit.analyze(sequential_exp)


def _cr0(rows: pd.DataFrame, regressors: list[str]) -> float:
    """statsmodels' CR0 variance of the last coefficient (no small-sample factor)."""
    exog = sm.add_constant(rows[regressors]) if regressors else np.ones((len(rows), 1))
    fit = sm.OLS(rows["y"], exog).fit(
        cov_type="cluster", cov_kwds={"groups": rows["city"], "use_correction": False}
    )
    return float(fit.bse.iloc[-1]) ** 2


def assert_matches_statsmodels(
    rows: pd.DataFrame, difference: float, se: float
) -> None:
    """Estimate = OLS coefficient; SE² = Σ_arms K/(K−1)·CR0_arm (stated above)."""
    fit = sm.OLS(rows["y"], sm.add_constant(rows[["treat"]])).fit()
    assert difference == pytest.approx(float(fit.params["treat"]), rel=1e-9)
    per_arm = [
        (arm["city"].nunique(), _cr0(arm, [])) for _, arm in rows.groupby("variant")
    ]
    assert sum(v for _, v in per_arm) == pytest.approx(_cr0(rows, ["treat"]), rel=1e-9)
    corrected = sum(k / (k - 1) * v for k, v in per_arm)
    assert se == pytest.approx(math.sqrt(corrected), rel=1e-9)


def test_segment_variance_matches_statsmodels_cluster_ols(
    sequential_exp: Path, result: AnalysisResult
) -> None:
    """Within a segment value a cluster's sums are over its units in that value."""
    rows = unit_rows(sequential_exp)
    for value in ("ios", "android"):
        segment = rows[rows["platform"] == value]
        found = [
            r for r in result.segment_results
            if r.segment == "platform" and r.segment_value == value
        ]  # fmt: skip
        assert len(found) == 1
        effect = found[0].effect
        assert_matches_statsmodels(segment, effect.difference, effect.standard_error)
        assert effect.control.n == segment[segment["treat"] == 0]["city"].nunique()
        assert found[0].cuped is None
        assert PER_UNIT_NOTE not in found[0].note
        assert "cluster-robust" in found[0].note


def test_segment_srm_counts_clusters(
    sequential_exp: Path, result: AnalysisResult
) -> None:
    rows = unit_rows(sequential_exp)
    for check in result.segment_srm:
        inside = rows[rows["platform"] == check.value]
        expected = [
            inside[inside["variant"] == v]["city"].nunique()
            for v in ("control", "treatment")
        ]
        assert list(check.srm.counts) == expected
        assert sum(check.srm.counts) < len(inside) / 10


def test_daily_look_matches_statsmodels_cluster_ols(
    sequential_exp: Path, result: AnalysisResult
) -> None:
    """A look on morning D holds the units with exposure key + 1 + end_day <= D."""
    rows = unit_rows(sequential_exp)
    series = result.series[0]
    assert len(series.looks) >= 3
    for look in series.looks[:2]:
        last_key = look.day - dt.timedelta(days=END_DAY + 1)
        held = rows[rows["exposure_key"] <= last_key]
        assert held["treat"].nunique() == 2 and len(held) < len(rows)
        assert_matches_statsmodels(held, look.difference, look.standard_error)
        assert (look.n_control, look.n_treatment) == (
            int((held["treat"] == 0).sum()),
            int((held["treat"] == 1).sum()),
        )  # looks count units (the information fraction's numerator)
        assert look.information == pytest.approx(1 / look.standard_error**2)


def test_last_look_equals_the_cluster_robust_scorecard(result: AnalysisResult) -> None:
    """The last look holds every unit: the scorecard's cluster-robust estimate."""
    last = result.series[0].looks[-1]
    effect = result.metric("messages").effect
    assert last.n_control + last.n_treatment == sum(result.units.values())
    assert last.difference == pytest.approx(effect.difference, rel=1e-12)
    assert last.standard_error == pytest.approx(effect.standard_error, rel=1e-12)


def test_daily_increments_add_up_to_the_overall_cluster_sums(
    sequential_exp: Path,
) -> None:
    """Σ_c Y_c² is not additive over days; its increments are, to the overall sums."""
    experiment = load_experiment(sequential_exp)
    frame = run_queries(experiment).clusters
    assert frame is not None
    overall = read_cluster_arms(experiment, frame)["messages"]
    for variant, rows in read_cluster_daily(experiment, frame).items():
        total = rows[0][1]["messages"]
        for _, arms in rows[1:]:
            total = total + arms["messages"]
        expected = overall[variant]
        for name in ("clusters", "units", "y", "y_sq", "d", "yc_sq", "dc_sq", "yd"):
            assert getattr(total, name) == pytest.approx(
                getattr(expected, name), rel=1e-12
            ), name
        assert total.y_sq_over_units == pytest.approx(
            expected.y_sq_over_units, rel=1e-9
        )
    assert len(overall_rows(frame)) == 2


def test_sequential_verdict_of_a_cluster_design(
    sequential_exp: Path, result: AnalysisResult
) -> None:
    """GST on the cluster-robust looks: fractions units / planned_units, α spent."""
    series: MetricSeries = result.series[0]
    assert series.method == "gst" and series.status == "ok"
    bounds = [look.z_bound for look in series.looks]
    assert all(math.isfinite(b) for b in bounds)
    assert bounds == sorted(bounds, reverse=True)  # O'Brien-Fleming: bounds fall
    crossed = [abs(look.z) >= look.z_bound for look in series.looks]
    assert series.crossed == any(crossed)
    if series.crossed:
        assert series.crossing_day == series.looks[crossed.index(True)].day
    decided = result.metric("messages").verdict
    assert decided in {"better", "worse", "no_change"}


def test_sequential_srm_counts_clusters(
    sequential_exp: Path, result: AnalysisResult
) -> None:
    experiment = load_experiment(sequential_exp)
    frame = run_queries(experiment).clusters
    assert frame is not None
    counts = cluster_exposure_counts(frame)
    rows = unit_rows(sequential_exp)
    first = rows.groupby(["variant", "city"])["exposure_key"].min()
    for variant in ("control", "treatment"):
        per_day = first[variant].value_counts().to_dict()
        assert {d: c for d, c in ((d, v.get(variant, 0)) for d, v in counts.items())
                if c} == per_day  # fmt: skip
    days = sorted({look.day for s in result.series for look in s.looks})
    assert result.sequential_srm == srm_series(counts, experiment, days)


def test_cli_analyze_gives_the_sequential_verdict(
    sequential_exp: Path, result: AnalysisResult
) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["analyze", str(sequential_exp)])
    assert table.exit_code == 0, table.output
    assert "group-sequential test" in table.output
    assert "daily series are cluster-robust" in " ".join(table.output.split())
    shown = runner.invoke(app, ["analyze", str(sequential_exp), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    payload = json.loads(shown.output)
    series = payload["series"][0]
    assert series["method"] == "gst"
    assert series["crossed"] == result.series[0].crossed
    assert [look["standard_error"] for look in series["looks"]] == pytest.approx(
        [look.standard_error for look in result.series[0].looks], rel=1e-12
    )


def test_reports_say_segments_and_daily_series_are_cluster_robust(
    result: AnalysisResult,
) -> None:
    from abkit.report.html import render_html
    from abkit.report.markdown import render_markdown

    phrase = "segments and the daily series are cluster-robust too"
    assert phrase in " ".join(render_markdown(result).split())
    assert phrase in " ".join(render_html(result).split())
    assert phrase in json.dumps(result.to_dict())
    assert phrase in " ".join(str(result).split())


@pytest.mark.parametrize("method", ["gst", "always_valid", "msprt"])
def test_every_sequential_method_runs_on_cluster_looks(
    tmp_path: Path, method: str
) -> None:
    path = clustered_log(
        tmp_path, users=800, sequential={"method": method, "planned_units": 800}
    )
    series = abkit.analyze(path).series[0]
    assert series.method == method and series.status == "ok"
    rows = unit_rows(path)
    last = series.looks[-1]
    assert_matches_statsmodels(rows, last.difference, last.standard_error)
    checked = "z_bound" if method == "gst" else "pvalue"  # GST gives boundaries
    assert all(math.isfinite(getattr(look, checked)) for look in series.looks)
    assert all(
        look.sequential_lower <= look.difference <= look.sequential_upper
        for look in series.looks
    )


def test_srm_by_day_counts_each_cluster_on_its_first_exposure_day(
    tmp_path: Path,
) -> None:
    """Per-day SRM of a city-randomized design: cities per first day, not users."""
    from scipy.stats import chisquare

    path = clustered_log(tmp_path, users=1200, cities=300)  # ~4 users a city
    rows = unit_rows(path)
    first = rows.groupby("city").agg(
        day=("exposure_key", "min"), arm=("variant", "first")
    )
    pvalues = []
    for _, cities in first.groupby("day"):
        counts = [int((cities["arm"] == v).sum()) for v in ("control", "treatment")]
        pvalues.append(float(chisquare(counts, [sum(counts) / 2] * 2).pvalue))
    assert len(pvalues) >= 3  # cities start on several days
    check = next(c for c in abkit.analyze(path).health if c.name == "srm_by_day")
    assert check.value == pytest.approx(min(pvalues), rel=1e-9)
    assert f"each of {len(pvalues)} exposure days" in check.message
