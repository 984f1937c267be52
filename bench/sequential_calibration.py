"""Calibration of the sequential tests under 28 daily looks (STATS.md §4, §10.3-4).

Simulates A/A experiments (false-positive rate) and A/B experiments with the effect
a fixed-horizon z-test detects with 80% power at day 28 (power, stopping day), from
exact per-day sufficient statistics (n, Σy, Σy² per arm), and runs every method on
the cumulative estimate and standard error at each day:

    python bench/sequential_calibration.py [--sims 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from scipy import stats as scipy_stats

from abkit.stats.sequential import (
    SpendingKind,
    asymptotic_cs_test,
    gst_boundaries,
    msprt_tau_squared,
    msprt_test,
)

DAYS = 28
UNITS_PER_ARM_PER_DAY = 1000
MEAN, SD = 10.0, 3.0
ALPHA, POWER = 0.05, 0.8

Looks = tuple[np.ndarray, np.ndarray, np.ndarray]  # estimate, se, n_total: sims × days


def simulate(rng: np.random.Generator, sims: int, effect: float) -> Looks:
    """Cumulative per-day estimate, SE and total n from exact sufficient statistics.

    A day's m units in one arm have Σy ~ N(mμ, mσ²) and, independently, a sum of
    squared deviations σ²·χ²_{m−1}, so Σy² = SSD + (Σy)²/m.
    """
    m = UNITS_PER_ARM_PER_DAY
    shape = (sims, DAYS, 2)
    means = np.array([MEAN, MEAN + effect])
    day_sum = rng.normal(m * means, SD * math.sqrt(m), shape)
    day_sum_sq = SD**2 * rng.chisquare(m - 1, shape) + day_sum**2 / m
    n = m * np.arange(1, DAYS + 1)[None, :, None] * np.ones(shape)
    total, total_sq = np.cumsum(day_sum, axis=1), np.cumsum(day_sum_sq, axis=1)
    variance = (total_sq - total**2 / n) / (n - 1)
    estimate = total[..., 1] / n[..., 1] - total[..., 0] / n[..., 0]
    se = np.sqrt(variance[..., 0] / n[..., 0] + variance[..., 1] / n[..., 1])
    return estimate, se, n.sum(axis=2)


def first_crossing(crossed: np.ndarray) -> np.ndarray:
    """1-based day of the first crossing per simulation, 0 when never crossed."""
    return np.where(crossed.any(axis=1), crossed.argmax(axis=1) + 1, 0)


def fixed_horizon(looks: Looks) -> np.ndarray:
    estimate, se, _ = looks
    crossed = np.zeros(estimate.shape, dtype=bool)
    crossed[:, -1] = np.abs(estimate[:, -1] / se[:, -1]) >= scipy_stats.norm.isf(
        ALPHA / 2
    )
    return first_crossing(crossed)


def naive_peeking(looks: Looks) -> np.ndarray:
    estimate, se, _ = looks
    return first_crossing(np.abs(estimate / se) >= scipy_stats.norm.isf(ALPHA / 2))


def gst(spending: SpendingKind) -> Callable[[Looks], np.ndarray]:
    fractions = np.arange(1, DAYS + 1) / DAYS
    bounds = np.asarray(gst_boundaries(fractions, ALPHA, spending=spending).z_bounds)

    def run(looks: Looks) -> np.ndarray:
        estimate, se, _ = looks
        return first_crossing(np.abs(estimate / se) >= bounds)

    return run


def asymptotic_cs(looks: Looks) -> np.ndarray:
    estimate, se, n = looks
    n_planned = float(n[0, -1])  # N* = the final N
    days = [
        asymptotic_cs_test(
            estimate[i], se[i], n[i], n_planned, ALPHA
        ).first_crossing_index
        for i in range(estimate.shape[0])
    ]
    return np.array([0 if d is None else d + 1 for d in days])


def msprt(looks: Looks) -> np.ndarray:
    estimate, se, n = looks
    n_final = float(n[0, -1])
    per_unit_variance = n_final * 2 * SD**2 / (n_final / 2)  # N·Var(Δ̂), planned σ
    tau2 = msprt_tau_squared(per_unit_variance, n_final, ALPHA)
    days = [
        msprt_test(estimate[i], se[i], tau2, ALPHA).first_crossing_index
        for i in range(estimate.shape[0])
    ]
    return np.array([0 if d is None else d + 1 for d in days])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    final_se = SD * math.sqrt(2 / (UNITS_PER_ARM_PER_DAY * DAYS))
    effect = (
        scipy_stats.norm.isf(ALPHA / 2) + scipy_stats.norm.isf(1 - POWER)
    ) * final_se
    null_looks = simulate(rng, args.sims, 0.0)
    alternative_looks = simulate(rng, args.sims, effect)
    low = scipy_stats.binom.ppf(0.0005, args.sims, ALPHA) / args.sims
    high = scipy_stats.binom.isf(0.0005, args.sims, ALPHA) / args.sims
    methods: dict[str, Callable[[Looks], np.ndarray]] = {
        "fixed horizon (day 28 only)": fixed_horizon,
        "naive peeking (daily z-test at 1.96)": naive_peeking,
        "GST LD O'Brien-Fleming": gst("obf"),
        "GST LD Pocock": gst("pocock"),
        "asymptotic CS (N* = final N)": asymptotic_cs,
        "mSPRT (tau2 = rho2 s2)": msprt,
    }
    print(
        f"{args.sims:,} A/A and {args.sims:,} A/B experiments, {DAYS} daily looks, "
        f"{UNITS_PER_ARM_PER_DAY} units/arm/day, alpha={ALPHA}, "
        f"effect={effect:.4f} (80% power at day {DAYS} for a fixed test)\n"
    )
    print(
        "| method | FPR | 99.9% band at 5% | FPR ≤ band top | power "
        "| avg stopping day (A/B) | time |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, method in methods.items():
        start = time.perf_counter()
        null_days, alternative_days = method(null_looks), method(alternative_looks)
        elapsed = time.perf_counter() - start
        fpr = (null_days > 0).mean()
        power = (alternative_days > 0).mean()
        stop = np.where(alternative_days > 0, alternative_days, DAYS).mean()
        print(
            f"| {name} | {fpr:.4f} | [{low:.4f}, {high:.4f}] | "
            f"{'yes' if fpr <= high else 'NO'} | {power:.4f} | {stop:.2f} | "
            f"{elapsed:.1f}s |"
        )


if __name__ == "__main__":
    main()
