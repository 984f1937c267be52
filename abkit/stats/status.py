"""Effect statuses and the checks that sufficient statistics could come from data.

The one place that names what can go wrong with a two-sample comparison. Every
test in `abkit.stats` returns a result carrying one of these codes instead of
raising, so one broken metric never stops an analysis.

A status of "inconsistent" means the moments themselves are impossible: no set
of real values has them (a negative variance from the sums, a proportion above 1,
binary cross-products outside their Fréchet bounds). Such input is flagged, never
clipped into something testable.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Collection
from typing import Literal

from abkit.aggregates.moments import JointMoments, Moments

EffectStatus = Literal[
    "ok",
    "too_few_units",
    "zero_variance",
    "zero_control_mean",
    "inconsistent",
    "overflow",
]
STATUS_MESSAGES: dict[EffectStatus, str] = {
    "ok": "",
    "too_few_units": "fewer than 2 units in an arm: no test possible",
    "zero_variance": "the metric does not vary in either arm: no test possible",
    "zero_control_mean": (
        "control mean is 0 (or too close to 0): relative lift undefined"
    ),
    "inconsistent": (
        "the sums cannot come from real data (negative variance, proportion outside "
        "[0, 1] or impossible cross-products): check the metric's SQL"
    ),
    "overflow": "the values are too large to compare in floating point: rescale them",
}
UNTESTABLE: frozenset[EffectStatus] = frozenset(
    {"too_few_units", "zero_variance", "inconsistent", "overflow"}
)

_EPS = sys.float_info.epsilon


def rounding_tolerance(n: int, sum_sq: float) -> float:
    """How far below 0 Σy² − (Σy)²/n may fall by rounding alone (8·n·ε·Σy²)."""
    return 8.0 * max(n, 1) * _EPS * abs(sum_sq)


def moments_consistent(moments: Moments) -> bool:
    """Whether real values can have these moments (n ≥ 0, Σy² ≥ 0, variance ≥ 0).

    The centred sum of squares Σy² − (Σy)²/n is never negative for real data; a
    negative value beyond `rounding_tolerance` is impossible input.
    """
    n, total, sum_sq = moments.n, moments.sum, moments.sum_sq
    if n < 0 or sum_sq < 0:
        return False
    if n == 0:
        return total == 0 and sum_sq == 0
    centred = sum_sq - (total / n) * total
    return not centred < -rounding_tolerance(n, sum_sq)


def proportion_consistent(moments: Moments) -> bool:
    """Whether 0/1 values can have these moments: 0 ≤ Σy ≤ n and Σy² = Σy."""
    n, total = moments.n, moments.sum
    if n < 0 or not 0 <= total <= n:
        return False
    return abs(moments.sum_sq - total) <= rounding_tolerance(n, total)


def joint_consistent(moments: JointMoments, binary: Collection[str] = ()) -> bool:
    """Whether real values can have these joint moments.

    Each variable's own moments must be consistent, every pair must satisfy
    Cauchy–Schwarz on the centred cross-products, and each pair of 0/1 variables
    (named in `binary`) must have Σxy within its Fréchet bounds
    max(0, Σx + Σy − n) ≤ Σxy ≤ min(Σx, Σy).
    """
    names = moments.names
    for name in names:
        marginal = moments.marginal(name)
        check = proportion_consistent if name in binary else moments_consistent
        if not check(marginal):
            return False
    if moments.n == 0:
        return all(v == 0 for row in moments.cross for v in row)
    for i, first in enumerate(names):
        for j in range(i + 1, len(names)):
            if not _pair_consistent(moments, i, j, both_binary=first in binary
                                    and names[j] in binary):  # fmt: skip
                return False
    return True


def _pair_consistent(
    moments: JointMoments, i: int, j: int, *, both_binary: bool
) -> bool:
    n, sums, cross = moments.n, moments.sums, moments.cross
    if both_binary:
        low, high = max(0.0, sums[i] + sums[j] - n), min(sums[i], sums[j])
        slack = rounding_tolerance(n, max(sums[i], sums[j]))
        return low - slack <= cross[i][j] <= high + slack
    centred_i = max(cross[i][i] - sums[i] * (sums[i] / n), 0.0)
    centred_j = max(cross[j][j] - sums[j] * (sums[j] / n), 0.0)
    centred_ij = cross[i][j] - sums[i] * (sums[j] / n)
    bound = math.sqrt(centred_i) * math.sqrt(centred_j)
    if not (math.isfinite(centred_ij) and math.isfinite(bound)):
        return True  # too large to check in floating point; the tests flag overflow
    slack = rounding_tolerance(n, math.sqrt(cross[i][i]) * math.sqrt(cross[j][j]))
    return abs(centred_ij) <= bound + slack
