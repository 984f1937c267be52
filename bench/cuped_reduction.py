"""CUPED variance reduction against ρ², for mean and ratio metrics (STATS.md §10.6).

Simulates many two-arm experiments whose outcome and pre-period covariate have a
known correlation ρ, builds per-arm sufficient statistics (JointMoments) from the
unit arrays, and runs `cuped_adjust` (pooled θ) and `cuped_ratio_adjust` (θ*).
For each ρ it prints two measured reductions, which should both be near ρ²:

- per-run: the mean over runs of 1 − SE²_adjusted/SE², the reduction a single
  analysis reports (`CupedAdjustment.variance_reduction`);
- across runs: 1 − Var(Δ̂_adjusted)/Var(Δ̂), the true reduction of the
  estimator's variance, with its Monte Carlo SE ≈ 2ρ(1 − ρ²)/√R.

Mean metric: (y, x) bivariate normal with correlation ρ. Ratio metric: per user
d, d_x ~ 1 + Poisson(3) and m = 2d + e, m_x = 1.5d_x + f with (e, f) bivariate
normal with correlation ρ, so the delta-linearised post and pre ratios have
correlation ρ.

    python bench/cuped_reduction.py [--runs 2000] [--n 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from abkit.aggregates.moments import JointMoments
from abkit.stats.cuped import CupedAdjustment, cuped_adjust, cuped_ratio_adjust

RHOS = (0.3, 0.5, 0.7, 0.9)
EFFECT = 0.1


def batch_moments(names: tuple[str, ...], data: np.ndarray) -> list[JointMoments]:
    """JointMoments of each run of an (R, n, k) array (sums vectorised)."""
    sums = data.sum(axis=1)
    gram = np.einsum("rni,rnj->rij", data, data)
    return [
        JointMoments(data.shape[1], names, tuple(s.tolist()), tuple(map(tuple, g)))
        for s, g in zip(sums, gram.tolist(), strict=True)
    ]


def correlated_normals(
    rng: np.random.Generator, shape: tuple[int, int], rho: float
) -> tuple[np.ndarray, np.ndarray]:
    first = rng.normal(size=shape)
    return first, rho * first + math.sqrt(1 - rho**2) * rng.normal(size=shape)


def mean_arm(rng: np.random.Generator, runs: int, n: int, rho: float, effect: float):
    x, y = correlated_normals(rng, (runs, n), rho)
    data = np.stack([10 + effect + 2 * y, 5 + 3 * x], axis=2)
    return batch_moments(("value", "pre"), data)


def ratio_arm(rng: np.random.Generator, runs: int, n: int, rho: float, effect: float):
    f, e = correlated_normals(rng, (runs, n), rho)
    d = 1.0 + rng.poisson(3.0, (runs, n))
    d_x = 1.0 + rng.poisson(3.0, (runs, n))
    data = np.stack([(2 + effect) * d + e, d, 1.5 * d_x + f, d_x], axis=2)
    return batch_moments(("value", "den", "pre", "pre_den"), data)


def measure(
    adjust: Callable[[JointMoments, JointMoments], CupedAdjustment],
    control: list[JointMoments],
    treatment: list[JointMoments],
) -> tuple[float, float]:
    """Mean per-run reduction and the across-runs reduction of Var(Δ̂)."""
    results = [adjust(c, t) for c, t in zip(control, treatment, strict=True)]
    per_run = float(np.mean([r.variance_reduction for r in results]))
    adjusted = np.array([r.difference for r in results])
    plain = np.array(
        [r.unadjusted_treatment.mean - r.unadjusted_control.mean for r in results]
    )
    return per_run, 1 - float(adjusted.var() / plain.var())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="experiments per ρ")
    parser.add_argument("--n", type=int, default=1000, help="units per arm")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    kinds = {"mean": (mean_arm, cuped_adjust), "ratio": (ratio_arm, cuped_ratio_adjust)}
    print(f"{args.runs} runs per row, {args.n} units per arm")
    print(
        f"{'metric':<7}{'rho':>5}{'rho^2':>8}{'per-run':>10}{'across':>9}{'± MC SE':>9}"
    )
    started = time.perf_counter()
    for kind, (simulate, adjust) in kinds.items():
        for rho in RHOS:
            control = simulate(rng, args.runs, args.n, rho, 0.0)
            treatment = simulate(rng, args.runs, args.n, rho, EFFECT)
            per_run, across = measure(adjust, control, treatment)
            se = 2 * rho * (1 - rho**2) / math.sqrt(args.runs)
            print(
                f"{kind:<7}{rho:>5.1f}{rho**2:>8.3f}{per_run:>10.4f}"
                f"{across:>9.4f}{se:>9.4f}"
            )
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
