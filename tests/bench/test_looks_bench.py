"""The daily-looks benchmark computes the same looks on both sides.

A small generated log (20k events, 2,000 units) gets the looks job (7-day windows,
CUPED, GST with O'Brien–Fleming-like spending); the limit (looks.sql, then the
running sums, the CUPED Welch finish and its own boundary recursion) and
abkit.analyze must agree on every look: fixed-horizon fields to a relative 1e-9,
the sequential bound to 1e-6. The limit's pieces are checked against independent
references. No timings are asserted.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from scipy import stats

from bench.like_for_like import looks
from bench.like_for_like.generate import ensure_data
from bench.like_for_like.numbers import KPIS


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("looks")
    ensure_data(directory, 20_000, seed=11)
    looks.write_job(directory, looks.planned_units(directory))
    return directory


@pytest.fixture(scope="module")
def limit(data_dir: Path) -> looks.LookNumbers:
    return looks.limit_numbers(data_dir)


@pytest.fixture(scope="module")
def abkit_looks(data_dir: Path) -> looks.LookNumbers:
    return looks.abkit_api_numbers(data_dir)


def unit_values(data_dir: Path) -> list[tuple[Any, ...]]:
    """Per assigned unit, by plain SQL: variant, exposure key, 7-day and pre clicks."""
    sql = f"""
        SELECT a.variant, CAST(a.exposed_at - INTERVAL 1 MICROSECOND AS DATE),
               COUNT(e.ts) FILTER (WHERE e.event = 'click' AND e.ts >= a.exposed_at
                                   AND e.ts < a.exposed_at + INTERVAL 7 DAY),
               COUNT(e.ts) FILTER (WHERE e.event = 'click' AND e.ts < a.exposed_at
                                   AND e.ts >= a.exposed_at - INTERVAL 14 DAY)
        FROM '{data_dir / "assignments.parquet"}' AS a
        LEFT JOIN '{data_dir / "events.parquet"}' AS e USING (unit_id)
        GROUP BY a.unit_id, a.variant, a.exposed_at"""
    return duckdb.connect().execute(sql).fetchall()


def test_the_job_has_a_window_and_a_gst_plan(data_dir: Path) -> None:
    metrics = (data_dir / "metrics_looks.yaml").read_text(encoding="utf-8")
    assert metrics.count("window: {end_day: 7}") == 5
    exp = (data_dir / "exp_looks.yaml").read_text(encoding="utf-8")
    assert "method: gst" in exp
    assert "planned_units: 2000" in exp
    # generate.py's own files are untouched
    assert "end_day" not in (data_dir / "metrics.yaml").read_text(encoding="utf-8")


def test_one_look_per_completed_exposure_day(limit: looks.LookNumbers) -> None:
    days = [look["day"] for look in limit["events"]]
    # exposures on 2-8 March, 7-day windows: the looks are the mornings of 10-16 March
    assert days == [(dt.date(2026, 3, 10) + dt.timedelta(days=i)).isoformat()
                    for i in range(7)]  # fmt: skip
    totals = [look["n_control"] + look["n_treatment"] for look in limit["events"]]
    assert totals == sorted(totals)
    assert totals[-1] == 2_000  # every window has closed by the last look
    for kpi in KPIS:
        assert [look["day"] for look in limit[kpi]] == days


def test_the_limit_matches_a_per_unit_recomputation(
    data_dir: Path, limit: looks.LookNumbers
) -> None:
    """The 4th look's clicks, CUPED by hand from per-unit values with numpy."""
    rows = unit_values(data_dir)
    look = limit["clicks"][3]
    last_key = dt.date.fromisoformat(look["day"]) - dt.timedelta(days=8)
    kept = [r for r in rows if r[1] <= last_key]
    y = np.array([r[2] for r in kept], dtype=float)
    x = np.array([r[3] for r in kept], dtype=float)
    treated = np.array([r[0] == "treatment" for r in kept])
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adjusted = y - theta * (x - x.mean())
    c, t = adjusted[~treated], adjusted[treated]
    assert look["n_control"] == c.size
    assert look["n_treatment"] == t.size
    assert look["difference"] == pytest.approx(t.mean() - c.mean(), rel=1e-10)
    welch = stats.ttest_ind(t, c, equal_var=False)
    assert look["z"] == pytest.approx(welch.statistic, rel=1e-10)
    se = math.sqrt(c.var(ddof=1) / c.size + t.var(ddof=1) / t.size)
    assert look["standard_error"] == pytest.approx(se, rel=1e-10)
    df = welch.df
    half = stats.t.ppf(0.975, df) * se
    assert look["ci_upper"] - look["ci_lower"] == pytest.approx(2 * half, rel=1e-10)


def test_obf_bounds_match_published_values() -> None:
    # gsDesign sfLDOF, 5 equal looks, two-sided 0.05 (α/2 per side)
    bounds = looks.obf_bounds((0.2, 0.4, 0.6, 0.8, 1.0))
    assert [round(b, 3) for b in bounds] == [4.877, 3.357, 2.68, 2.29, 2.031]


def test_obf_bounds_spend_the_planned_alpha() -> None:
    """Monte Carlo of Brownian motion at the looks: the crossing rate is ≈ α."""
    fractions = (0.15, 0.3, 0.5, 0.7, 1.0)
    bounds = np.array(looks.obf_bounds(fractions))
    rng = np.random.default_rng(3)
    steps = np.diff(np.array((0.0, *fractions)))
    paths = np.cumsum(rng.normal(0.0, np.sqrt(steps), (400_000, steps.size)), axis=1)
    z = paths / np.sqrt(np.array(fractions))
    rate = float(np.mean((np.abs(z) >= bounds).any(axis=1)))
    assert rate == pytest.approx(0.05, abs=0.002)


def test_abkit_equals_the_limit(
    limit: looks.LookNumbers, abkit_looks: looks.LookNumbers
) -> None:
    gaps = looks.largest_gaps(limit, abkit_looks)
    assert gaps["exact"][0] < looks.EXACT_TOLERANCE, gaps
    assert gaps["bound"][0] < looks.BOUND_TOLERANCE, gaps
    assert looks.matches(gaps)


def test_a_different_look_is_found(
    limit: looks.LookNumbers, abkit_looks: looks.LookNumbers
) -> None:
    shifted = {
        kpi: [dict(look) for look in series] for kpi, series in abkit_looks.items()
    }
    shifted["revenue"][2]["ci_upper"] *= 1 + 1e-7
    assert not looks.matches(looks.largest_gaps(limit, shifted))
    dropped = shifted | {"converted": shifted["converted"][1:]}
    assert looks.largest_gaps(limit, dropped)["exact"][0] == math.inf
