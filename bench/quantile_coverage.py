"""Coverage of abkit's quantile CIs (Deng et al. 2018 §4) by simulation.

Unit level: lognormal per-unit values, treatment = control × 1.05, so the true
quantiles, their difference and the relative lift (+5%) are known exactly. Event
level: 4 events per unit sharing a unit effect (clustered), true quantiles from a
10⁷-event sample; the naive (i.i.d.) ranks are shown beside the clustered ones.
Price–Bonett (`interval: price_bonett`, medians of per-unit values): the arm column
is median ± z·SE, the relative column the log-scale ratio CI; also at small arms,
where it is meant to be used.
Each CI is built exactly as `abkit.stats.quantile` builds it (inverse-CDF quantile,
order statistics at the bound ranks, SE = width / 2z, z-test of the difference):

    python bench/quantile_coverage.py [--sims 2000] [--units 2000] [--seed 5]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

from abkit.stats.price_bonett import price_bonett_rank, price_bonett_z0
from abkit.stats.quantile import point_rank, rank_bounds

ALPHA = 0.05
Z = float(stats.norm.ppf(1 - ALPHA / 2))
LIFT = 1.05
EVENTS_PER_UNIT = 4
Arms = tuple[np.ndarray, np.ndarray, np.ndarray]  # quantile, lower, upper: per sim


def order_statistics(sorted_rows: np.ndarray, p: float, deff: np.ndarray) -> Arms:
    """Per simulation: the quantile and the order statistics at the bound ranks."""
    sims, n = sorted_rows.shape
    rows = np.arange(sims)
    quantile = sorted_rows[:, point_rank(n, p) - 1]
    ranks = np.array([rank_bounds(n, p, Z, float(d)) for d in deff])
    return (
        quantile,
        sorted_rows[rows, ranks[:, 0] - 1],
        sorted_rows[rows, ranks[:, 1] - 1],
    )


def event_design_effect(values: np.ndarray, quantile: np.ndarray) -> np.ndarray:
    """deff of F̂(q) for equal-size clusters: sims × units × events → per sim."""
    below = (values <= quantile[:, None, None]).sum(axis=2).astype(float)
    m = values.shape[2]
    cdf = below.sum(axis=1) / (below.shape[1] * m)
    clustered = below.var(axis=1, ddof=1) / m**2 / below.shape[1]
    binomial = cdf * (1 - cdf) / (below.shape[1] * m)
    return np.where(binomial > 0, clustered / binomial, 1.0)


def coverage(hits: np.ndarray) -> str:
    """Rate with its 95% Clopper–Pearson band."""
    k, n = int(hits.sum()), hits.size
    low, high = stats.binomtest(k, n).proportion_ci(0.95)
    return f"{k / n:6.3f} [{low:.3f}, {high:.3f}]"


def summarize(control: Arms, treatment: Arms, truth: tuple[float, float]) -> list[str]:
    """Coverage of the control CI, the difference CI and the relative CI."""
    true_c, true_t = truth
    se_c = (control[2] - control[1]) / (2 * Z)
    se_t = (treatment[2] - treatment[1]) / (2 * Z)
    difference = treatment[0] - control[0]
    se = np.sqrt(se_c**2 + se_t**2)
    ratio = treatment[0] / control[0]
    se_rel = np.sqrt(se_t**2 + ratio**2 * se_c**2) / control[0]
    true_rel = true_t / true_c - 1
    return [
        coverage((control[1] <= true_c) & (true_c <= control[2])),
        coverage(np.abs(difference - (true_t - true_c)) <= Z * se),
        coverage(np.abs(ratio - 1 - true_rel) <= Z * se_rel),
    ]


def unit_level(rng: np.random.Generator, sims: int, units: int, p: float) -> list[str]:
    """Lognormal per-unit values: true quantiles exp(μ + σ·Φ⁻¹(p))."""
    true_c = math.exp(float(stats.norm.ppf(p)))
    arms = []
    for scale in (1.0, LIFT):
        rows = np.sort(rng.lognormal(0, 1, (sims, units)) * scale, axis=1)
        arms.append(order_statistics(rows, p, np.ones(sims)))
    return summarize(arms[0], arms[1], (true_c, true_c * LIFT))


def price_bonett(rng: np.random.Generator, sims: int, units: int) -> list[str]:
    """Lognormal per-unit medians: truth e⁰ = 1 and 1.05; Price–Bonett CIs."""
    a, z0 = price_bonett_rank(units), price_bonett_z0(units)
    arms = []
    for scale in (1.0, LIFT):
        rows = np.sort(rng.lognormal(0, 1, (sims, units)) * scale, axis=1)
        low, high = rows[:, a - 1], rows[:, units - a]
        arms.append((np.median(rows, axis=1), (high - low) / (2 * z0),
                     (np.log(high) - np.log(low)) / (2 * z0)))  # fmt: skip
    (m_c, se_c, log_c), (m_t, se_t, log_t) = arms
    ratio_half = Z * np.sqrt(log_c**2 + log_t**2)
    return [
        coverage(np.abs(m_c - 1.0) <= Z * se_c),
        coverage(np.abs(m_t - m_c - (LIFT - 1)) <= Z * np.sqrt(se_c**2 + se_t**2)),
        coverage(np.abs(np.log(m_t / m_c) - math.log(LIFT)) <= ratio_half),
    ]


def event_level(
    rng: np.random.Generator, sims: int, units: int, p: float, clustered: bool
) -> list[str]:
    """Events sharing a unit effect; the ranks with or without the design effect."""
    big = rng.lognormal(0, 0.6, 10**7) * rng.lognormal(0, 0.8, 10**7)
    true_c = float(np.quantile(big, p))
    arms = []
    for scale in (1.0, LIFT):
        unit = rng.lognormal(0, 0.8, (sims, units, 1))
        values = rng.lognormal(0, 0.6, (sims, units, EVENTS_PER_UNIT)) * unit * scale
        flat = np.sort(values.reshape(sims, -1), axis=1)
        quantile = flat[:, point_rank(flat.shape[1], p) - 1]
        deff = event_design_effect(values, quantile) if clustered else np.ones(sims)
        arms.append(order_statistics(flat, p, deff))
    return summarize(arms[0], arms[1], (true_c, true_c * LIFT))


def main() -> None:
    """Print the coverage table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"95% CI coverage, {args.sims} simulations, {args.units} units per arm")
    print(f"{'design':<28}{'p':>5}  {'arm CI':<22}{'difference':<22}{'relative':<22}")
    for p in (0.5, 0.9, 0.99):
        cells = unit_level(rng, args.sims, args.units, p)
        print(f"{'unit level':<28}{p:>5}  " + "".join(f"{c:<22}" for c in cells))
    for units in (args.units, 50, 20):
        cells = price_bonett(rng, args.sims, units)
        label = f"Price–Bonett, {units} units"
        print(f"{label:<28}{0.5:>5}  " + "".join(f"{c:<22}" for c in cells))
    for units in (50, 20):
        cells = unit_level(rng, args.sims, units, 0.5)
        label = f"unit level, {units} units"
        print(f"{label:<28}{0.5:>5}  " + "".join(f"{c:<22}" for c in cells))
    event_sims, event_units = max(args.sims // 4, 100), args.units // 4
    for clustered, label in (
        (True, "event, clustered (deff)"),
        (False, "event, naive i.i.d."),
    ):
        for p in (0.5, 0.9):
            cells = event_level(rng, event_sims, event_units, p, clustered)
            print(f"{label:<28}{p:>5}  " + "".join(f"{c:<22}" for c in cells))
    print(
        f"(event rows: {event_sims} simulations, {event_units} units × "
        f"{EVENTS_PER_UNIT} events per arm; {time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
