"""The scipy.special tail functions equal scipy.stats' bit for bit; no scipy.stats import."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from abkit.stats.distributions import (
    Reference,
    chi2_sf,
    normal_cdf,
    normal_isf,
    normal_ppf,
    normal_sf,
)
from abkit.stats.roots import brent_root
from tests.test_layout import loaded_after

RNG = np.random.default_rng(20240515)
POINTS = [
    *RNG.normal(0, 3, 300).tolist(),
    *RNG.normal(0, 40, 50).tolist(),
    0.0, -0.0, 1e-300, 38.5, -38.5, 1e3, -1e3, math.inf, -math.inf, math.nan,
]  # fmt: skip
LEVELS = [
    *RNG.uniform(0, 1, 300).tolist(),
    *(10 ** RNG.uniform(-300, 0, 50)).tolist(),
    0.0, 1.0, 0.5, 0.975, 1e-320, 1 - 1e-16, -0.1, 1.1, math.nan,
]  # fmt: skip
DFS = [math.inf, 1.0, 1.5, 2.0, 3.7, 29.999, 100.0, 1e6, 1e20, 0.3, 0.0, -1.0, math.nan]


def same(ours: float, theirs: float) -> bool:
    return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs


@pytest.mark.parametrize("df", DFS)
def test_reference_equals_scipy_stats_t_and_norm_exactly(df):
    theirs = stats.norm if math.isinf(df) else stats.t(df)
    ours = Reference(df)
    for name in ("cdf", "sf"):
        for x in POINTS:
            expected = float(getattr(theirs, name)(x))
            assert same(getattr(ours, name)(x), expected), (name, x)
    for name in ("ppf", "isf"):
        for q in LEVELS:
            expected = float(getattr(theirs, name)(q))
            assert same(getattr(ours, name)(q), expected), (name, q)


def test_normal_functions_equal_scipy_stats_norm_exactly():
    for x in POINTS:
        assert same(normal_cdf(x), float(stats.norm.cdf(x)))
        assert same(normal_sf(x), float(stats.norm.sf(x)))
    for q in LEVELS:
        assert same(normal_ppf(q), float(stats.norm.ppf(q)))
        assert same(normal_isf(q), float(stats.norm.isf(q)))
    assert normal_isf(0.025) == pytest.approx(1.959963984540054, rel=1e-15)


@pytest.mark.parametrize("df", [1, 2, 3, 7, 50, 0.5, 0, -1, math.nan])
def test_chi2_sf_equals_scipy_stats_exactly(df):
    for x in [*RNG.exponential(5, 200).tolist(), 0.0, -1.0, math.inf, math.nan]:
        assert same(chi2_sf(x, df), float(stats.chi2.sf(x, df))), x


def test_brent_root_solves_a_bracketed_equation():
    assert brent_root(lambda z: normal_sf(z) - 0.025, 0.0, 10.0, xtol=1e-14) == (
        pytest.approx(1.959963984540054, abs=1e-13)
    )


def loaded(code: str) -> list[str]:
    """Which of scipy.stats / scipy.optimize a fresh interpreter holds after `code`."""
    return loaded_after(code, ("scipy.stats", "scipy.optimize"))


def test_importing_the_analysis_loads_no_scipy_stats_or_optimize():
    assert loaded("import abkit.analysis.run") == []


def test_analysing_a_small_log_loads_no_scipy_stats(tiny_exp):
    code = f"import abkit\nresult = abkit.analyze({str(tiny_exp)!r})\nassert result.metrics"
    assert "scipy.stats" not in loaded(code)
