"""The ratio-metric rows of the calibration table: messages per match.

Per member, a match rate g ~ Gamma(0.6, scale 5) (mean 3; a third of members have
no match in the period) and a chattiness r ~ LogNormal(−0.5, 0.8), both kept for
the pre-period; matches d ~ Poisson(g) and messages m ~ Poisson(d·r), drawn afresh
in each period. The treatment multiplies r by 1.05, so messages per match Σm/Σd has
the true value E[r] = exp(−0.5 + 0.32) in the control and a true relative lift of
+5%. Members are the randomization unit; messages of one member's matches share r,
which is why the delta-method variance over members is needed.

Two tests: the delta-method ratio with Welch (abkit.stats.delta.ratio_estimate and
welch_test) and delta-method CUPED on the pre-period ratio
(abkit.stats.cuped.cuped_ratio_adjust), both vectorised here and cross-checked
against abkit's scalar functions on the first simulations of every batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from abkit.aggregates.moments import JointMoments
from abkit.stats.cuped import cuped_ratio_adjust
from abkit.stats.delta import ratio_estimate
from abkit.stats.welch import welch_test

F = Any  # a numpy array with one value per simulation
SHAPE, SCALE = 0.6, 5.0
CHAT_MU, CHAT_SIGMA = -0.5, 0.8
NAMES = ("value", "den", "pre", "pre_den")


@dataclass
class RatioArm:
    """Per simulation: n, the sums of (m, d, m_x, d_x) and their cross-products."""

    n: F
    sums: F  # (sims, 4)
    cross: F  # (sims, 4, 4)

    def mean(self) -> F:
        return self.sums / self.n[:, None]

    def covariance(self) -> F:
        outer = self.sums[:, :, None] * self.sums[:, None, :] / self.n[:, None, None]
        return (self.cross - outer) / (self.n[:, None, None] - 1)

    def joint(self, i: int) -> JointMoments:
        """Simulation i as the joint moments abkit's SQL would return."""
        return JointMoments(
            int(self.n[i]),
            NAMES,
            tuple(float(v) for v in self.sums[i]),
            tuple(tuple(float(v) for v in row) for row in self.cross[i]),
        )


def true_ratio() -> float:
    """Messages per match in the control: E[r]."""
    return math.exp(CHAT_MU + CHAT_SIGMA**2 / 2)


def simulate_ratio_arm(
    rng: np.random.Generator, sims: int, units: int, lift: float
) -> RatioArm:
    """One arm of `sims` experiments reduced to sums (rows are dropped)."""
    shape = (sims, units)
    rate = rng.gamma(SHAPE, SCALE, shape)
    chat = rng.lognormal(CHAT_MU, CHAT_SIGMA, shape)
    pre_d = rng.poisson(rate)
    pre_m = rng.poisson(pre_d * chat)
    d = rng.poisson(rate)
    m = rng.poisson(d * chat * lift)
    rows = np.stack([m, d, pre_m, pre_d], axis=-1).astype(np.float64)
    return RatioArm(
        n=np.full(sims, float(units)),
        sums=rows.sum(1),
        cross=np.einsum("sui,suj->sij", rows, rows),
    )


def _gradients(arm: RatioArm) -> tuple[F, F]:
    """a = (1/d̄, −m̄/d̄²) of the post ratio and b of the pre ratio, per simulation."""
    mean = arm.mean()
    a = np.stack([1 / mean[:, 1], -mean[:, 0] / mean[:, 1] ** 2], axis=-1)
    b = np.stack([1 / mean[:, 3], -mean[:, 2] / mean[:, 3] ** 2], axis=-1)
    return a, b


def _parts(arm: RatioArm) -> tuple[F, F, F]:
    """Per-unit aᵀΛa, aᵀΛb and bᵀΛb (abkit.stats.cuped.ratio._ratio_parts)."""
    a, b = _gradients(arm)
    cov = arm.covariance()
    post = np.einsum("si,sij,sj->s", a, cov[:, :2, :2], a)
    cross = np.einsum("si,sij,sj->s", a, cov[:, :2, 2:], b)
    pre = np.einsum("si,sij,sj->s", b, cov[:, 2:, 2:], b)
    return post, cross, pre


def _ratio(arm: RatioArm, num: int, den: int) -> F:
    return arm.sums[:, num] / arm.sums[:, den]


def delta_ratio(c: RatioArm, t: RatioArm, welch: Any) -> Any:
    """Σm/Σd per arm with its delta-method variance, then Welch."""
    (post_c, _, _), (post_t, _, _) = _parts(c), _parts(t)
    return welch(_ratio(c, 0, 1), post_c / c.n, c.n, _ratio(t, 0, 1), post_t / t.n, t.n)


def cuped_ratio(c: RatioArm, t: RatioArm, welch: Any) -> Any:
    """Delta-method CUPED on the pre-period ratio (θ minimises the summed variances)."""
    parts = (_parts(c), _parts(t))
    cross = sum(p[1] / arm.n for p, arm in zip(parts, (c, t), strict=True))
    pre = sum(p[2] / arm.n for p, arm in zip(parts, (c, t), strict=True))
    theta = cross / pre
    pooled_pre = (c.sums[:, 2] + t.sums[:, 2]) / (c.sums[:, 3] + t.sums[:, 3])
    arms = []
    for arm, (post, cr, pr) in zip((c, t), parts, strict=True):
        mean = _ratio(arm, 0, 1) - theta * (_ratio(arm, 2, 3) - pooled_pre)
        unit = np.maximum(post - 2 * theta * cr + theta**2 * pr, 0.0)
        arms.append((mean, unit / arm.n, arm.n))
    return welch(*arms[0], *arms[1])


def cross_check_ratio(
    c: RatioArm, t: RatioArm, tests: dict[str, Any], alpha: float
) -> None:
    """The vectorised ratio tests equal abkit's scalar functions on a few simulations."""
    for i in range(3):
        jc, jt = c.joint(i), t.joint(i)
        plain = welch_test(
            ratio_estimate(jc, "value", "den"),
            ratio_estimate(jt, "value", "den"),
            alpha,
        )
        adjusted = cuped_ratio_adjust(jc, jt)
        cuped = welch_test(adjusted.control, adjusted.treatment, alpha)
        for name, effect in (("ratio", plain), ("ratio_cuped", cuped)):
            test = tests[name]
            assert math.isclose(effect.pvalue, test.pvalue[i], rel_tol=1e-6)
            assert math.isclose(
                effect.treatment.mean_variance, test.treatment_var[i], rel_tol=1e-9
            )
