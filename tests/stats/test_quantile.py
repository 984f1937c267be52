"""Quantile CIs by order statistics (Deng et al. 2018 §4) against bootstraps on rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from abkit.stats.quantile import (
    ClusterSums,
    QuantileArm,
    cdf_variance,
    design_effect,
    point_rank,
    quantile_difference,
    rank_bounds,
)

Z = float(stats.norm.ppf(0.975))
BOOTSTRAPS = 2000


def test_rank_bounds_golden() -> None:
    """N = 1000, p = 0.5: 500 ∓ 1.96·sqrt(250) = 469.01 / 530.99 → ranks 469, 531."""
    assert rank_bounds(1000, 0.5, Z) == (469, 531)
    assert rank_bounds(1000, 0.9, Z) == (881, 919)
    assert rank_bounds(10, 0.99, Z) == (9, 10)
    assert point_rank(1000, 0.9) == 900
    assert point_rank(7, 0.5) == 4


def cluster_sums(values: np.ndarray, clusters: np.ndarray, q: float) -> ClusterSums:
    """The sums queries/quantiles.sql returns, from rows."""
    ids, index = np.unique(clusters, return_inverse=True)
    s = np.bincount(index, weights=(values <= q).astype(float))
    m = np.bincount(index).astype(float)
    return ClusterSums(len(ids), s.sum(), (s * s).sum(), m.sum(), (m * m).sum(),
                       (s * m).sum())  # fmt: skip


def arm_from_rows(
    values: np.ndarray, p: float, clusters: np.ndarray | None = None
) -> QuantileArm:
    """What the SQL computes, done with numpy (inverse-CDF quantile, bound ranks)."""
    ordered = np.sort(values)
    n = len(values)
    quantile = float(ordered[point_rank(n, p) - 1])
    deff = 1.0
    units = n
    if clusters is not None:
        sums = cluster_sums(values, clusters, quantile)
        deff, units = design_effect(sums), sums.clusters
    lower, upper = rank_bounds(n, p, Z, deff)
    return QuantileArm(units, n, quantile, ordered[lower - 1], ordered[upper - 1], deff)


def test_unit_level_design_effect_is_k_over_k_minus_1() -> None:
    """One value per unit: the delta variance is the sample variance of 0/1 over K."""
    rng = np.random.default_rng(5)
    values = rng.normal(size=400)
    sums = cluster_sums(values, np.arange(400), float(np.median(values)))
    cdf = sums.s / sums.m
    assert cdf_variance(sums) == pytest.approx(
        np.var(values <= np.median(values), ddof=1) / 400
    )
    assert design_effect(sums) == pytest.approx(400 / 399)
    assert cdf == pytest.approx(0.5)


@pytest.mark.parametrize("p", [0.5, 0.9])
def test_unit_level_difference_matches_bootstrap(p: float) -> None:
    """SE of q̂_T − q̂_C within 10% of a seeded bootstrap on per-unit rows."""
    rng = np.random.default_rng(11)
    control = rng.lognormal(1.0, 1.0, 3000)
    treatment = rng.lognormal(1.05, 1.0, 3000)
    effect = quantile_difference(
        arm_from_rows(control, p), arm_from_rows(treatment, p), 0.05, Z
    )
    draws = [
        np.quantile(rng.choice(arm, (BOOTSTRAPS, arm.size)), p, axis=1,
                    method="inverted_cdf")
        for arm in (control, treatment)
    ]  # fmt: skip
    bootstrap_se = float(np.std(draws[1] - draws[0], ddof=1))
    assert effect.standard_error == pytest.approx(bootstrap_se, rel=0.10)
    assert effect.difference == pytest.approx(
        np.quantile(treatment, p, method="inverted_cdf")
        - np.quantile(control, p, method="inverted_cdf")
    )
    width = effect.ci_upper - effect.ci_lower
    assert width == pytest.approx(2 * Z * bootstrap_se, rel=0.10)


def clustered_rows(
    rng: np.random.Generator, units: int
) -> tuple[np.ndarray, np.ndarray]:
    """Events per unit with a shared unit effect: values correlated within a unit."""
    counts = rng.poisson(4, units) + 1
    clusters = np.repeat(np.arange(units), counts)
    scale = np.repeat(rng.lognormal(0, 0.8, units), counts)
    return rng.lognormal(0, 0.6, counts.sum()) * scale, clusters


def cluster_bootstrap(
    rng: np.random.Generator, values: np.ndarray, clusters: np.ndarray, p: float
) -> np.ndarray:
    """The p-quantile over events of units resampled with replacement."""
    order = np.argsort(clusters, kind="stable")
    values, clusters = values[order], clusters[order]
    starts = np.searchsorted(clusters, np.arange(clusters.max() + 2))
    draws = np.empty(600)
    for b in range(draws.size):
        picked = rng.integers(0, clusters.max() + 1, clusters.max() + 1)
        index = np.concatenate([np.arange(starts[u], starts[u + 1]) for u in picked])
        draws[b] = np.quantile(values[index], p, method="inverted_cdf")
    return draws


def test_event_level_clustered_ci_matches_cluster_bootstrap() -> None:
    """Event-level p90: the design-effect CI agrees with a unit bootstrap (15%)."""
    rng = np.random.default_rng(21)
    values, clusters = clustered_rows(rng, 1500)
    arm = arm_from_rows(values, 0.9, clusters)
    naive = arm_from_rows(values, 0.9)
    draws = cluster_bootstrap(rng, values, clusters, 0.9)
    se = math.sqrt(arm.estimate(Z).mean_variance)
    assert arm.deff > 1.5  # events of a unit are alike: the naive CI is too narrow
    assert se == pytest.approx(float(np.std(draws, ddof=1)), rel=0.15)
    assert math.sqrt(naive.estimate(Z).mean_variance) < 0.85 * se


def test_tied_values_give_zero_variance_status() -> None:
    """All values equal: the bounding order statistics coincide, no test possible."""
    arm = QuantileArm(100, 100, 0.0, 0.0, 0.0)
    effect = quantile_difference(arm, arm, 0.05, Z)
    assert effect.status == "zero_variance"
