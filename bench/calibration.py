"""Calibration table: abkit's tests on simulated heavy-tailed, zero-inflated dating-app data.

10,000 simulated A/A and 10,000 A/B experiments per method (default), each reduced
to sufficient statistics per arm (n, Σy, Σy², Σx, Σx², Σxy, per day), then tested
with abkit's formulas in vectorised form — cross-checked against abkit's own scalar
functions (`welch_test`, `cuped_adjust`, `proportion_ztest`, `fieller_interval`,
`srm_test`, `asymptotic_cs_halfwidth`) on the first simulations of every batch.

Data (per member, 14 days of arrivals, 4,200 members per arm): 30% are "payer types"
who pay in a period with probability 0.8, the others with 0.02 (zero-inflated: ~75%
zeros); a payment is u·e with u ~ LogNormal(0, 1) the member's spend level (shared by
the pre-period and the experiment, so CUPED has a covariate) and e ~ LogNormal(0, 0.5).
The treatment multiplies both the payment probability and the amount by 1.05: a true
relative lift of 10.25% in revenue per member and +5% (1.27 pp) in payer conversion.
The ratio metric (messages per match, `bench/calibration_ratio.py`) is drawn for the
same members per arm, with a true lift of +5%.

    python bench/calibration.py [--sims 10000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from abkit.aggregates.moments import JointMoments, Moments
from abkit.stats.cuped import cuped_adjust
from abkit.stats.estimate import ArmEstimate
from abkit.stats.fieller import fieller_interval
from abkit.stats.sequential import asymptotic_cs_halfwidth
from abkit.stats.srm import srm_test
from abkit.stats.welch import proportion_ztest, welch_test
from bench.calibration_ratio import (
    cross_check_ratio,
    cuped_ratio,
    delta_ratio,
    simulate_ratio_arm,
    true_ratio,
)

ALPHA = 0.05
DAYS, PER_DAY = 14, 300
UNITS = DAYS * PER_DAY  # per arm
PAYER_SHARE, PAY_PAYER, PAY_OTHER = 0.3, 0.8, 0.02
LIFT = 1.05
SRM_SKEW = 0.515  # share of the first arm in the SRM power scenario
SRM_THRESHOLD = 0.001
BATCH = 250
F = Any  # a numpy array with one value per simulation (float or bool)


@dataclass
class Arm:
    """Sufficient statistics of one arm per simulation: per day and in total."""

    n: F
    y: F
    y2: F
    x: F
    x2: F
    xy: F
    payers: F
    day_n: F
    day_y: F
    day_y2: F


def simulate_arm(rng: np.random.Generator, sims: int, lift: float) -> Arm:
    """One arm of `sims` experiments: rows drawn, reduced to sums, rows dropped."""
    shape = (sims, UNITS)
    payer = rng.random(shape) < PAYER_SHARE
    pay_prob = np.where(payer, PAY_PAYER, PAY_OTHER)
    level = rng.lognormal(0.0, 1.0, shape)
    x = (rng.random(shape) < pay_prob) * level * rng.lognormal(0.0, 0.5, shape)
    paid = rng.random(shape) < pay_prob * lift
    y = paid * level * rng.lognormal(0.0, 0.5, shape) * lift
    daily = y.reshape(sims, DAYS, PER_DAY)
    return Arm(
        n=np.full(sims, float(UNITS)),
        y=y.sum(1), y2=(y * y).sum(1), x=x.sum(1), x2=(x * x).sum(1),
        xy=(x * y).sum(1), payers=(y > 0).sum(1).astype(float),
        day_n=np.cumsum(np.full((sims, DAYS), float(PER_DAY)), 1),
        day_y=np.cumsum(daily.sum(2), 1), day_y2=np.cumsum((daily * daily).sum(2), 1),
    )  # fmt: skip


def true_values() -> tuple[float, float, float, float]:
    """Revenue per member and payer share of the control and the treatment."""
    pay = PAYER_SHARE * PAY_PAYER + (1 - PAYER_SHARE) * PAY_OTHER
    amount = math.exp(0.5) * math.exp(0.125)
    return pay * amount, pay * amount * LIFT**2, pay, pay * LIFT


def variance(n: F, s: F, s2: F) -> F:
    """Sample variance from n, Σ, Σ² (ddof 1)."""
    return (s2 - s * s / n) / (n - 1)


def covariance(n: F, a: F, b: F, ab: F) -> F:
    return (ab - a * b / n) / (n - 1)


@dataclass
class Test:
    """Vectorised outcome of a test over simulations."""

    control_mean: F
    treatment_mean: F
    control_var: F  # variance of the arm estimate
    treatment_var: F
    quantile: F
    pvalue: F

    @property
    def difference(self) -> F:
        return self.treatment_mean - self.control_mean


def welch(mc: F, vc: F, nc: F, mt: F, vt: F, nt: F) -> Test:
    """Welch t on arm estimates (abkit.stats.welch.welch_test, vectorised)."""
    df = (vc + vt) ** 2 / (vc**2 / (nc - 1) + vt**2 / (nt - 1))
    t = (mt - mc) / np.sqrt(vc + vt)
    return Test(
        mc, mt, vc, vt, stats.t.ppf(1 - ALPHA / 2, df), 2 * stats.t.sf(abs(t), df)
    )


def plain_welch(c: Arm, t: Arm) -> Test:
    return welch(c.y / c.n, variance(c.n, c.y, c.y2) / c.n, c.n,
                 t.y / t.n, variance(t.n, t.y, t.y2) / t.n, t.n)  # fmt: skip


def cuped(c: Arm, t: Arm) -> Test:
    """Pooled-θ CUPED (abkit.stats.cuped.cuped_adjust, vectorised) then Welch."""
    n = c.n + t.n
    theta = covariance(n, c.x + t.x, c.y + t.y, c.xy + t.xy) / variance(
        n, c.x + t.x, c.x2 + t.x2
    )
    pooled_x = (c.x + t.x) / n
    arms = []
    for arm in (c, t):
        unit = (variance(arm.n, arm.y, arm.y2) + theta**2 * variance(arm.n, arm.x, arm.x2)
                - 2 * theta * covariance(arm.n, arm.x, arm.y, arm.xy))  # fmt: skip
        mean = arm.y / arm.n - theta * (arm.x / arm.n - pooled_x)
        arms.append((mean, unit / arm.n, arm.n))
    return welch(*arms[0], *arms[1])


def proportion(c: Arm, t: Arm) -> Test:
    """Two-proportion z: pooled SE p-value, Wald CI (abkit.stats.welch.proportion_ztest)."""
    pc, pt = c.payers / c.n, t.payers / t.n
    pooled = (c.payers + t.payers) / (c.n + t.n)
    z = (pt - pc) / np.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / t.n))
    q = np.full_like(pc, stats.norm.ppf(1 - ALPHA / 2))
    return Test(
        pc, pt, pc * (1 - pc) / c.n, pt * (1 - pt) / t.n, q, 2 * stats.norm.sf(abs(z))
    )


def covers_absolute(test: Test, truth: float) -> F:
    se = np.sqrt(test.control_var + test.treatment_var)
    return np.abs(test.difference - truth) <= test.quantile * se


def covers_relative_delta(test: Test, truth: float) -> F:
    """Delta-method relative CI (abkit.stats.delta.relative_lift) holds the truth."""
    mc, mt = test.control_mean, test.treatment_mean
    ratio = mt / mc
    se = np.sqrt(test.treatment_var + ratio**2 * test.control_var) / np.abs(mc)
    return np.abs(ratio - 1 - truth) <= test.quantile * se


def covers_relative_fieller(test: Test, truth: float) -> F:
    """Fieller's set holds R = 1 + truth iff (ȳ_T − Rȳ_C)² ≤ q²(v_T + R²v_C)."""
    r = 1 + truth
    gap = (test.treatment_mean - r * test.control_mean) ** 2
    return gap <= test.quantile**2 * (test.treatment_var + r * r * test.control_var)


def sequential(c: Arm, t: Arm) -> tuple[F, F]:
    """Rejections at any daily look: asymptotic CS, and naive repeated Welch."""
    diff = t.day_y / t.day_n - c.day_y / c.day_n
    var_c = variance(c.day_n, c.day_y, c.day_y2) / c.day_n
    var_t = variance(t.day_n, t.day_y, t.day_y2) / t.day_n
    se = np.sqrt(var_c + var_t)
    total = c.day_n + t.day_n
    width = np.vectorize(asymptotic_cs_halfwidth)(se, total, 2.0 * UNITS, ALPHA)
    naive = np.abs(diff / se) > stats.norm.ppf(1 - ALPHA / 2)
    return (np.abs(diff) > width).any(1), naive.any(1)


def srm_rejections(rng: np.random.Generator, sims: int, share: float) -> F:
    """χ² SRM test (abkit.stats.srm.srm_test, vectorised) on binomial splits."""
    total = 2 * UNITS
    first = rng.binomial(total, share, sims).astype(float)
    expected = total / 2
    chi2 = ((first - expected) ** 2 + (total - first - expected) ** 2) / expected
    pvalues = stats.chi2.sf(chi2, 1)
    for i in range(3):
        counts = [int(first[i]), int(total - first[i])]
        assert math.isclose(srm_test(counts, [1, 1]).pvalue, pvalues[i], rel_tol=1e-9)
    return pvalues < SRM_THRESHOLD


def joint(arm: Arm, i: int) -> JointMoments:
    """Simulation i of an arm as the JointMoments abkit's SQL would return."""
    return JointMoments(
        int(arm.n[i]), ("value", "pre"), (float(arm.y[i]), float(arm.x[i])),
        ((float(arm.y2[i]), float(arm.xy[i])), (float(arm.xy[i]), float(arm.x2[i]))),
    )  # fmt: skip


def cross_check(c: Arm, t: Arm, tests: dict[str, Test]) -> None:
    """The vectorised tests equal abkit's scalar functions on a few simulations."""
    for i in range(3):
        jc, jt = joint(c, i), joint(t, i)
        plain = welch_test(ArmEstimate.from_moments(jc.marginal("value")),
                           ArmEstimate.from_moments(jt.marginal("value")), ALPHA)  # fmt: skip
        adjusted = cuped_adjust(jc, jt)
        cup = welch_test(adjusted.control, adjusted.treatment, ALPHA)
        payers_c, payers_t = float(c.payers[i]), float(t.payers[i])
        prop = proportion_ztest(
            Moments(jc.n, payers_c, payers_c), Moments(jt.n, payers_t, payers_t), ALPHA
        )
        for name, effect in (("welch", plain), ("cuped", cup), ("proportion", prop)):
            assert math.isclose(effect.pvalue, tests[name].pvalue[i], rel_tol=1e-6)
        q = float(tests["welch"].quantile[i])
        fieller = fieller_interval(plain.control, plain.treatment, q)
        mc, vc = plain.control.mean, plain.control.mean_variance
        mt, vt = plain.treatment.mean, plain.treatment.mean_variance
        for bound in (
            fieller.lower,
            fieller.upper,
        ):  # on the edge of the vectorised set
            r = 1 + bound
            assert math.isclose(
                (mt - r * mc) ** 2, q * q * (vt + r * r * vc), rel_tol=1e-6
            )


Tally = dict[str, list[F]]


def run_batch(rng: np.random.Generator, sims: int, lift: float, tally: Tally) -> None:
    """One batch of experiments with the given lift, appended to `tally`."""
    c, t = simulate_arm(rng, sims, 1.0), simulate_arm(rng, sims, lift)
    tests = {
        "welch": plain_welch(c, t),
        "cuped": cuped(c, t),
        "proportion": proportion(c, t),
    }
    cross_check(c, t, tests)
    rc, rt = (
        simulate_ratio_arm(rng, sims, UNITS, 1.0),
        simulate_ratio_arm(rng, sims, UNITS, lift),
    )
    ratio_tests = {
        "ratio": delta_ratio(rc, rt, welch),
        "ratio_cuped": cuped_ratio(rc, rt, welch),
    }
    cross_check_ratio(rc, rt, ratio_tests, ALPHA)
    tests.update(ratio_tests)
    rev_c, rev_t, pay_c, pay_t = true_values()
    ratio_truth = (true_ratio() * (lift - 1), lift - 1)
    truth = {
        "ratio": ratio_truth,
        "ratio_cuped": ratio_truth,
        "welch": (rev_t - rev_c, rev_t / rev_c - 1) if lift != 1 else (0.0, 0.0),
        "cuped": (rev_t - rev_c, rev_t / rev_c - 1) if lift != 1 else (0.0, 0.0),
        "proportion": (pay_t - pay_c, LIFT - 1) if lift != 1 else (0.0, 0.0),
    }
    for name, test in tests.items():
        absolute, relative = truth[name]
        tally.setdefault(f"{name}:reject", []).append(test.pvalue < ALPHA)
        tally.setdefault(f"{name}:abs", []).append(covers_absolute(test, absolute))
        tally.setdefault(f"{name}:rel", []).append(
            covers_relative_delta(test, relative)
        )
        tally.setdefault(f"{name}:fieller", []).append(
            covers_relative_fieller(test, relative)
        )
    always_valid, naive = sequential(c, t)
    tally.setdefault("sequential:reject", []).append(always_valid)
    tally.setdefault("peeking:reject", []).append(naive)
    share = 0.5 if lift == 1 else SRM_SKEW
    tally.setdefault("srm:reject", []).append(srm_rejections(rng, sims, share))


def band(hits: list[F]) -> str:
    """Rate with its 95% Clopper–Pearson band."""
    values = np.concatenate(hits)
    k, n = int(values.sum()), values.size
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k / n:.3f} [{ci.low:.3f},{ci.high:.3f}]"


ROWS = (
    ("Welch t, revenue/member", "welch"),
    ("CUPED (pooled θ), revenue", "cuped"),
    ("two-proportion z, payer", "proportion"),
    ("delta-method ratio, messages/match", "ratio"),
    ("CUPED ratio (delta), messages/match", "ratio_cuped"),
    ("asymptotic CS, 14 daily looks", "sequential"),
    ("naive Welch, 14 daily looks", "peeking"),
    (f"SRM χ² p<{SRM_THRESHOLD:g} (A/B: {SRM_SKEW:.1%} split)", "srm"),
)


def table(null: Tally, effect: Tally, sims: int, seconds: float) -> str:
    """The calibration table, one row per method."""
    head = ["method", "A/A false-pos.", "A/B power", "A/B abs cover",
            "rel cover (delta)", "rel cover (Fieller)"]  # fmt: skip
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for label, key in ROWS:
        cells = [label, band(null[f"{key}:reject"]), band(effect[f"{key}:reject"])]
        for part in ("abs", "rel", "fieller"):
            found = effect.get(f"{key}:{part}")
            cells.append(band(found) if found else "–")
        lines.append(" | ".join(cells))
    rev_c, rev_t, pay_c, pay_t = true_values()
    lines.append(
        f"\n{sims:,} A/A and {sims:,} A/B experiments per method, {UNITS:,} members per "
        f"arm, α = {ALPHA}; truth: revenue {rev_c:.3f} → {rev_t:.3f} "
        f"(+{rev_t / rev_c - 1:.2%}), payers {pay_c:.3f} → {pay_t:.4f}, messages per "
        f"match {true_ratio():.3f} (+{LIFT - 1:.0%}); rate [95% "
        f"Clopper–Pearson band]; {seconds:.0f} s"
    )
    return "\n".join(lines)


def main() -> None:
    """Simulate, test and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    null: Tally = {}
    effect: Tally = {}
    for start in range(0, args.sims, BATCH):
        size = min(BATCH, args.sims - start)
        run_batch(rng, size, 1.0, null)
        run_batch(rng, size, LIFT, effect)
    print(table(null, effect, args.sims, time.perf_counter() - started))


if __name__ == "__main__":
    main()
