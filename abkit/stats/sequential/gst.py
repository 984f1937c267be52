"""Group-sequential tests with Lan–DeMets alpha spending (STATS.md §4.3).

Boundaries at the observed looks, the two-sided group-sequential z-test with its
repeated confidence intervals, and the maximum-sample inflation that keeps power;
the spending functions and the recursion live in `alpha_spending`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from abkit.errors import ConfigError, DataError
from abkit.stats.floats import ieee
from abkit.stats.roots import brent_root
from abkit.stats.sequential.alpha_spending import (
    DEFAULT_CONVENTION,
    BoundaryKind,
    Convention,
    Sides,
    _boundaries,
    _check_design,
    _cumulative_alpha,
    _upper_crossing,
)
from abkit.stats.sequential.common import (
    Alternative,
    Floats,
    SequentialResult,
    SequentialStatus,
    _as_array,
    _check_lengths,
    _empty_result,
    _result,
)


@dataclass(frozen=True, slots=True)
class GroupSequentialBoundaries:
    """|z| boundaries of a group-sequential design (STATS.md §4.3).

    Attributes:
        information_fractions: t_k = I_k / I_max at each look.
        z_bounds: reject at look k when |Z_k| ≥ z_bounds[k] (one-sided: Z_k ≥ it
            for "greater", Z_k ≤ −it for "less"); `Z_BOUND_CAP` marks a capped bound.
        alpha_spent: P(first crossing at look k) under H0, from the recursion.
        cumulative_alpha: the spending function α(t_k) (t clipped at 1); for the
            constant Pocock boundary, the alpha the recursion spent so far.
        alpha: type I error of the design (one-sided for a one-sided design).
        spending: spending function family, or "pocock_constant".
        convention: how α is split between the sides (see `gst_boundaries`).
        rho: exponent of the Kim–DeMets power family (unused otherwise).
        status: a code from `STATUS_MESSAGES`.
    """

    information_fractions: tuple[float, ...]
    z_bounds: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    alpha: float
    spending: BoundaryKind
    convention: Convention
    rho: float
    status: SequentialStatus
    alternative: Alternative = "two-sided"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        header = (
            f"{self.spending} ({self.convention}) α={self.alpha:g} ({self.status})\n"
        )
        rows = "\n".join(
            f"look {k + 1:>3}  t={t:.4f}  |z|≥{z:.4f}  spent={a:.3g}"
            for k, (t, z, a) in enumerate(
                zip(
                    self.information_fractions,
                    self.z_bounds,
                    self.alpha_spent,
                    strict=True,
                )
            )
        )
        return header + rows


@ieee
def gst_boundaries(
    information_fractions: Floats,
    alpha: float = 0.05,
    spending: BoundaryKind = "obf",
    convention: Convention = DEFAULT_CONVENTION,
    rho: float = 2.0,
    alternative: Alternative = "two-sided",
) -> GroupSequentialBoundaries:
    """|z| boundaries at the observed looks by recursive integration (STATS.md §4.3).

    S_k = Z_k·√t_k is Brownian motion; the sub-density of S_k on the continuation
    region is carried look to look (Armitage, McPherson & Rowe 1969; Reboussin et
    al.'s ldbounds) with Simpson's rule, and c_k solves
    P(first crossing at k) = α(t_k) − (alpha actually spent before k). Unequal and
    unplanned looks are fine as long as the spending function and I_max are fixed;
    a look with t > 1 spends all remaining alpha, and a look with no new
    information (the same t as the look before) repeats the bound and spends
    nothing. Bounds are capped at `Z_BOUND_CAP` (reported as that value); any
    alpha not spent because of the cap rolls to later looks.

    The default convention is `"per-side"`, the published one: each side spends
    the function at α/2 (gsDesign `sfLDOF`, rpact, ldbounds; K = 5 equal looks at
    two-sided α = 0.05: 4.877, 3.357, 2.680, 2.290, 2.031). `"two-sided"` spends
    α(t) = 2 − 2Φ(z_{1−α/2}/√t) across both sides (4.383, 3.100, 2.553, 2.254,
    2.064): more alpha early. The two coincide for Pocock-like and power spending
    (LD Pocock K = 5: 2.438, 2.427, 2.410, 2.397, 2.386). `"pocock_constant"` is
    Pocock's (1977) classical boundary, one c for every look (2.413 for K = 5).
    A one-sided design (`alternative="greater"` or `"less"`) has one bound per
    look at one-sided level `alpha`: non-inferiority of a guardrail is tested by
    passing Z_k = (Δ̂_k + margin)/SE_k to `group_sequential_test`.

    Args:
        information_fractions: non-decreasing t_k > 0 (I_k / I_max).
        alpha: type I error (two-sided, or one-sided for a one-sided design).
        spending: `"obf"`, `"pocock"`, `"power"` (Kim–DeMets, exponent `rho`) or
            `"pocock_constant"`.
        convention: `"per-side"` or `"two-sided"` (two-sided designs only).
        rho: power-family exponent.
        alternative: `"two-sided"`, `"greater"` or `"less"`.

    Returns:
        The boundaries with the alpha spent at each look.

    Raises:
        ConfigError: alpha, spending, convention, rho or alternative is invalid.
        DataError: the information fractions are not positive and non-decreasing.

    Example:
        >>> design = gst_boundaries([0.2, 0.4, 0.6, 0.8, 1.0])
        >>> [round(z, 3) for z in design.z_bounds]
        [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    sides = _check_test(alpha, spending, rho, convention, alternative)
    fractions = _check_fractions(information_fractions, "gst_boundaries")
    bounds, spent = _boundaries(fractions, alpha, spending, convention, rho, sides)
    if spending == "pocock_constant":
        cumulative = np.cumsum(spent)
    else:
        cumulative = _cumulative_alpha(
            fractions, alpha, spending, rho, convention, sides
        )
    status = _information_status(fractions) if fractions else "no_looks"
    return GroupSequentialBoundaries(
        information_fractions=fractions,
        z_bounds=bounds,
        alpha_spent=spent,
        cumulative_alpha=tuple(cumulative.tolist()),
        alpha=alpha,
        spending=spending,
        convention=convention,
        rho=rho,
        status=status,
        alternative=alternative,
    )


@ieee
def group_sequential_test(
    z_statistics: Floats,
    information_fractions: Floats,
    alpha: float = 0.05,
    *,
    spending: BoundaryKind = "obf",
    convention: Convention = DEFAULT_CONVENTION,
    rho: float = 2.0,
    estimates: Floats | None = None,
    standard_errors: Floats | None = None,
    alternative: Alternative = "two-sided",
) -> SequentialResult:
    """Group-sequential z-test with Lan–DeMets spending (STATS.md §4.3).

    Rejects at the first look with |Z_k| ≥ c_k (boundaries from `gst_boundaries`;
    one-sided: Z_k ≥ c_k for `"greater"`, Z_k ≤ −c_k for `"less"`). Given
    estimates and standard errors, the repeated confidence interval at look k
    is Δ̂_k ± c_k·SE_k (Jennison & Turnbull 2000, ch. 9): simultaneous coverage
    1 − α over the looks; one-sided it is the bound [Δ̂_k − c_k·SE_k, ∞) (or
    (−∞, Δ̂_k + c_k·SE_k]). For non-inferiority with margin m pass
    Z_k = (Δ̂_k + m)/SE_k and `"greater"`: crossing shows harm is smaller than m.

    Args:
        z_statistics: Z_k = (Δ̂_k − null)/SE_k from cumulative sums at each look.
        information_fractions: t_k for the same looks (see `gst_boundaries`).
        alpha: type I error (one-sided for a one-sided test).
        spending: spending function family, or `"pocock_constant"`.
        convention: `"per-side"` or `"two-sided"` (see `gst_boundaries`).
        rho: power-family exponent.
        estimates: Δ̂_k per look, for the repeated CI (optional).
        standard_errors: SE_k per look, for the repeated CI (optional).
        alternative: `"two-sided"`, `"greater"` or `"less"`.

    Returns:
        Per-look bounds and repeated CIs, whether and where the bound was crossed.

    Raises:
        ConfigError: invalid design parameters.
        DataError: the arrays differ in length or the fractions decrease.
    """
    sides = _check_test(alpha, spending, rho, convention, alternative)
    z = _as_array(z_statistics)
    if z.size == 0:
        return _empty_result("gst", alpha)
    fractions = _check_fractions(information_fractions, "group_sequential_test")
    _check_lengths("group_sequential_test", z=z, information_fractions=fractions)
    bounds = np.asarray(
        _boundaries(fractions, alpha, spending, convention, rho, sides)[0]
    )
    lower, upper = _repeated_ci(z.size, bounds, estimates, standard_errors)
    if alternative == "greater":
        upper = np.full(z.size, math.inf)
    elif alternative == "less":
        lower = np.full(z.size, -math.inf)
    valid = np.isfinite(z)
    signed = {"two-sided": np.abs, "greater": np.positive, "less": np.negative}
    crossed = valid & (signed[alternative](np.where(valid, z, 0.0)) >= bounds)
    status = "invalid_statistic" if not valid.all() else _information_status(fractions)
    nan = (math.nan,) * z.size
    return _result(
        "gst", alpha, z=z, bounds=bounds, lower=lower, upper=upper, e_values=nan,
        pvalues=nan, crossed=crossed, status=status, alternative=alternative,
    )  # fmt: skip


def _repeated_ci(
    size: int,
    bounds: npt.NDArray[np.float64],
    estimates: Floats | None,
    standard_errors: Floats | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Δ̂_k ∓ c_k·SE_k, or NaN without estimates."""
    if (estimates is None) != (standard_errors is None):
        raise DataError(
            "group_sequential_test: got only one of estimates / standard_errors; "
            "pass both for repeated CIs, or neither"
        )
    if estimates is None or standard_errors is None:
        return np.full(size, math.nan), np.full(size, math.nan)
    estimate, se = _as_array(estimates), _as_array(standard_errors)
    _check_lengths("group_sequential_test", z=np.zeros(size), estimates=estimate, se=se)
    return estimate - bounds * se, estimate + bounds * se


@ieee
def gst_inflation(
    information_fractions: Floats,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    spending: BoundaryKind = "obf",
    convention: Convention = DEFAULT_CONVENTION,
    rho: float = 2.0,
) -> float:
    """Max-sample inflation N_max / N_fixed that keeps the target power (STATS.md §4.3).

    Solves for the drift η (E[Z] at t = 1) at which the upper boundary is crossed
    with probability `power`, by the same recursion under the alternative, and
    returns (η / (z_{1−α/2} + z_{power}))². Five equal looks at 80% power (STATS.md
    §4.3 table): LD OBF per-side 1.025, two-sided 1.038, LD Pocock-like 1.212
    (Jennison & Turnbull 2000, "Group Sequential Methods", ch. 7).

    Args:
        information_fractions: planned looks t_k, ending at (or near) 1.
        alpha: two-sided type I error.
        power: target power against the planned effect.
        spending: spending function family.
        convention: `"two-sided"` or `"per-side"`.
        rho: power-family exponent.

    Returns:
        N at t = 1 divided by the fixed-horizon N for the same α, power and effect.

    Raises:
        ConfigError: invalid design parameters or power outside (0, 1).
        DataError: the information fractions are not positive and increasing.
    """
    _check_test(alpha, spending, rho, convention, "two-sided")
    if not 0 < power < 1:
        raise ConfigError(
            f"gst_inflation: power == {power}, must be in (0, 1); pass e.g. 0.8"
        )
    fractions = _check_fractions(information_fractions, "gst_inflation")
    bounds = _boundaries(fractions, alpha, spending, convention, rho)[0]
    fixed = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))

    def shortfall(drift: float) -> float:
        return _upper_crossing(fractions, bounds, drift) - power

    drift = brent_root(shortfall, 0.5 * fixed, 4.0 * fixed, xtol=1e-10)
    return float((drift / fixed) ** 2)


def _information_status(fractions: tuple[float, ...]) -> SequentialStatus:
    beyond = [t for t in fractions if t >= 1.0]
    if len(beyond) > 1:
        return "alpha_exhausted"
    return "information_overrun" if fractions and fractions[-1] > 1.0 else "ok"


def _check_fractions(values: Floats, where: str) -> tuple[float, ...]:
    fractions = _as_array(values)
    if fractions.size and not (
        np.all(np.isfinite(fractions))
        and fractions[0] > 0
        and np.all(np.diff(fractions) >= 0)
    ):
        raise DataError(
            f"{where}: information_fractions == {fractions.tolist()} must be finite, "
            "positive and non-decreasing; pass I_k/I_max (≈ N_k/N_max) per look"
        )
    return tuple(fractions.tolist())


def _check_test(
    alpha: float,
    spending: BoundaryKind,
    rho: float,
    convention: Convention,
    alternative: Alternative,
) -> Sides:
    """Validate a design; the number of sides the alternative tests."""
    _check_design(alpha, spending, rho, convention)
    if alternative not in ("two-sided", "greater", "less"):
        raise ConfigError(
            f"group-sequential test: alternative == {alternative!r}; use "
            "'two-sided', 'greater' or 'less'"
        )
    if alternative != "two-sided" and not alpha < 0.5:
        raise ConfigError(
            f"group-sequential test: one-sided alpha == {alpha}, must be < 0.5; "
            "e.g. 0.025"
        )
    return 2 if alternative == "two-sided" else 1
