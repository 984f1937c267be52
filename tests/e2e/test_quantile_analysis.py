"""Quantile metrics end to end: exp.yaml → quantiles.sql → scorecard, against numpy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import abkit
from abkit.analysis.queries import run_queries
from abkit.config import load_experiment
from abkit.errors import ConfigError
from abkit.stats.quantile import design_effect, point_rank, rank_bounds
from tests.handmade import write_log
from tests.stats.test_quantile import cluster_sums

START = dt.datetime(2026, 3, 2)
METRICS = {
    "total_p50": {"kind": "quantile", "events": ["session"], "value": "value",
                  "quantile": 0.5, "window": {"end_day": 7}},
    "session_p90": {"kind": "quantile", "events": ["session"], "value": "value",
                    "quantile": 0.9, "level": "event", "window": {"end_day": 7}},
}  # fmt: skip


def session_log(units: int = 2000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sessions with a unit effect, in a 7-day window, plus one late event."""
    rng = np.random.default_rng(seed)
    ids = np.arange(units)
    variant = np.where(ids % 2 == 0, "control", "treatment")
    assignments = pd.DataFrame(
        {"user_id": ids, "variant": variant, "exposed_at": START}
    )
    counts = rng.poisson(3, units) + 1
    user = np.repeat(ids, counts)
    value = rng.lognormal(0, 1, counts.sum()) * np.repeat(
        rng.lognormal(0, 0.8, units), counts
    )
    ts = START + pd.to_timedelta(rng.uniform(0, 6.9, counts.sum()), unit="D")
    events = pd.DataFrame(
        {"user_id": user, "ts": ts, "event": "session", "value": value}
    )
    late = pd.DataFrame({"user_id": [0], "ts": [START + dt.timedelta(days=10)],
                         "event": ["ping"], "value": [1.0]})  # fmt: skip
    return assignments, pd.concat([events, late], ignore_index=True)


@pytest.fixture(scope="module")
def quantile_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assignments, events = session_log()
    return write_log(
        tmp_path_factory.mktemp("quantile"), assignments, events, METRICS,
        {"control": 0.5, "treatment": 0.5},
    )  # fmt: skip


def test_sql_rows_match_numpy(quantile_exp: Path) -> None:
    """Quantile, bound ranks, order statistics and design effect as numpy has them."""
    frame = run_queries(load_experiment(quantile_exp)).quantiles
    assert frame is not None
    assignments, events = session_log()
    events = events[events["event"] == "session"].merge(assignments, on="user_id")
    z = float(stats.norm.ppf(0.975))
    records: list[dict[Any, Any]] = frame.to_dict("records")
    for record in records:
        row = SimpleNamespace(**record)
        arm = events[events["variant"] == row.variant]
        if row.level == "unit":
            values = arm.groupby("user_id")["value"].sum().to_numpy()
            deff = 1.0
        else:
            values = arm["value"].to_numpy()
            sums = cluster_sums(values, arm["user_id"].to_numpy(), row.quantile)
            deff = design_effect(sums)
            assert (row.s_sum, row.m_sum, row.sm) == (sums.s, sums.m, sums.sm)
        ordered = np.sort(values)
        n = len(values)
        assert row.n == n
        exact = pytest.approx(ordered[point_rank(n, row.p) - 1], rel=1e-12)
        assert row.quantile == exact  # per-unit sums: summation order differs
        assert np.quantile(values, row.p, method="inverted_cdf") == exact
        assert row.deff == pytest.approx(deff, rel=1e-9)
        lower, upper = rank_bounds(n, row.p, z, deff)
        assert (row.lower_rank, row.upper_rank) == (lower, upper)
        bounds = (ordered[lower - 1], ordered[upper - 1])
        assert (row.lower, row.upper) == pytest.approx(bounds, rel=1e-12)


def test_scorecard_shows_quantile_lift(quantile_exp: Path) -> None:
    result = abkit.analyze(quantile_exp, cuped=True)
    p90 = result.metric("session_p90")
    assert p90.kind == "quantile"
    assert p90.cuped is None
    effect = p90.effect
    assert effect.relative == pytest.approx(
        effect.treatment.mean / effect.control.mean - 1
    )
    assert effect.ci_lower < effect.difference < effect.ci_upper
    text = str(result)
    assert "CUPED not applied to quantile metrics" in text
    assert "design effect" in text
    row = result.to_dict()["metrics"][0]
    assert row["kind"] == "quantile"
    assert "per-unit values" in row["note"]
    assert result.series_for("total_p50") is None
    from abkit.report.html import render_html
    from abkit.report.terminal import render

    for output_format in ("table", "json"):
        assert "session_p90" in render(result, output_format)
    assert r"session\_p90" in render(result, "markdown")  # user text escaped
    assert "CUPED not applied" in render(result, "markdown")
    assert "session_p90" in render_html(result)


def test_quantile_needs_p(tmp_path: Path) -> None:
    assignments, events = session_log(20)
    bad = {"q": {"kind": "quantile", "events": ["session"]}}
    path = write_log(
        tmp_path, assignments, events, bad, {"control": 0.5, "treatment": 0.5}
    )
    with pytest.raises(ConfigError, match="quantile: p"):
        load_experiment(path)
