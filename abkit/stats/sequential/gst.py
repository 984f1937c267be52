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
from scipy import optimize, special

from abkit.errors import ConfigError, DataError
from abkit.stats.sequential.alpha_spending import (
    DEFAULT_CONVENTION,
    Convention,
    SpendingKind,
    _boundaries,
    _check_design,
    _spending_curve,
    _upper_crossing,
)
from abkit.stats.sequential.common import (
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
    """Two-sided symmetric |z| boundaries of a group-sequential design (STATS.md §4.3).

    Attributes:
        information_fractions: t_k = I_k / I_max at each look.
        z_bounds: reject at look k when |Z_k| ≥ z_bounds[k].
        alpha_spent: P(first crossing at look k) under H0, from the recursion.
        cumulative_alpha: the spending function α(t_k) (t clipped at 1).
        alpha: two-sided type I error of the design.
        spending: spending function family.
        convention: how α is split between the sides (see `gst_boundaries`).
        rho: exponent of the Kim–DeMets power family (unused otherwise).
        status: a code from `STATUS_MESSAGES`.
    """

    information_fractions: tuple[float, ...]
    z_bounds: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    alpha: float
    spending: SpendingKind
    convention: Convention
    rho: float
    status: SequentialStatus

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


def gst_boundaries(
    information_fractions: Floats,
    alpha: float = 0.05,
    spending: SpendingKind = "obf",
    convention: Convention = DEFAULT_CONVENTION,
    rho: float = 2.0,
) -> GroupSequentialBoundaries:
    """Symmetric |z| boundaries at the observed looks by recursive integration (§4.3).

    S_k = Z_k·√t_k is Brownian motion; the sub-density of S_k on the continuation
    region is carried look to look (Armitage, McPherson & Rowe 1969; Reboussin et
    al.'s ldbounds) with Simpson's rule, and c_k solves
    P(first crossing at k) = α(t_k) − (alpha actually spent before k). Unequal and
    unplanned looks are fine as long as the spending function and I_max are fixed;
    a look with t > 1 spends all remaining alpha. Bounds are capped at
    `Z_BOUND_CAP`; any alpha not spent because of the cap rolls to later looks.

    The default convention is `"two-sided"`: it is Lan & DeMets' own definition and
    the one STATS.md §4.3 tabulates, the α(t) a user reads is the two-sided α they
    set, and it spends more alpha early (OBF 5 looks: 4.383 vs 4.877 at look 1), so
    A/B tests can stop earlier on large effects. `"per-side"` (α/2 each side,
    gsDesign `sfLDOF`: 4.877, 3.357, 2.680, 2.290, 2.031) is available for
    cross-checks; the two coincide for Pocock-like and power spending (e.g. LD
    Pocock K=5: 2.438, 2.427, 2.410, 2.397, 2.386 under either).

    Args:
        information_fractions: strictly increasing t_k > 0 (I_k / I_max).
        alpha: two-sided type I error.
        spending: `"obf"`, `"pocock"` or `"power"` (Kim–DeMets, exponent `rho`).
        convention: `"two-sided"` or `"per-side"`.
        rho: power-family exponent.

    Returns:
        The boundaries with the alpha spent at each look.

    Raises:
        ConfigError: alpha, spending, convention or rho is invalid.
        DataError: the information fractions are not positive and increasing.

    Example:
        >>> design = gst_boundaries([0.2, 0.4, 0.6, 0.8, 1.0])
        >>> [round(z, 3) for z in design.z_bounds]
        [4.383, 3.1, 2.553, 2.254, 2.064]
    """
    _check_design(alpha, spending, rho, convention)
    fractions = _check_fractions(information_fractions, "gst_boundaries")
    bounds, spent = _boundaries(fractions, alpha, spending, convention, rho)
    cumulative = _spending_curve(
        np.asarray(fractions), alpha, spending, rho, convention
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
    )


def group_sequential_test(
    z_statistics: Floats,
    information_fractions: Floats,
    alpha: float = 0.05,
    *,
    spending: SpendingKind = "obf",
    convention: Convention = DEFAULT_CONVENTION,
    rho: float = 2.0,
    estimates: Floats | None = None,
    standard_errors: Floats | None = None,
) -> SequentialResult:
    """Two-sided group-sequential z-test with Lan–DeMets spending (STATS.md §4.3).

    Rejects at the first look with |Z_k| ≥ c_k (boundaries from `gst_boundaries`).
    Given estimates and standard errors, the repeated confidence interval at look k
    is Δ̂_k ± c_k·SE_k (Jennison & Turnbull 2000, ch. 9): simultaneous coverage
    1 − α over the looks.

    Args:
        z_statistics: Z_k = Δ̂_k / SE_k from cumulative sums at each look so far.
        information_fractions: t_k for the same looks (see `gst_boundaries`).
        alpha: two-sided type I error.
        spending: spending function family.
        convention: `"two-sided"` or `"per-side"` (see `gst_boundaries`).
        rho: power-family exponent.
        estimates: Δ̂_k per look, for the repeated CI (optional).
        standard_errors: SE_k per look, for the repeated CI (optional).

    Returns:
        Per-look bounds and repeated CIs, whether and where the bound was crossed.

    Raises:
        ConfigError: invalid design parameters.
        DataError: the arrays differ in length or the fractions do not increase.
    """
    _check_design(alpha, spending, rho, convention)
    z = _as_array(z_statistics)
    if z.size == 0:
        return _empty_result("gst", alpha)
    fractions = _check_fractions(information_fractions, "group_sequential_test")
    _check_lengths("group_sequential_test", z=z, information_fractions=fractions)
    bounds = np.asarray(_boundaries(fractions, alpha, spending, convention, rho)[0])
    lower, upper = np.full(z.size, math.nan), np.full(z.size, math.nan)
    if (estimates is None) != (standard_errors is None):
        raise DataError(
            "group_sequential_test: got only one of estimates / standard_errors; "
            "pass both for repeated CIs, or neither"
        )
    if estimates is not None and standard_errors is not None:
        estimate, se = _as_array(estimates), _as_array(standard_errors)
        _check_lengths("group_sequential_test", z=z, estimates=estimate, se=se)
        lower, upper = estimate - bounds * se, estimate + bounds * se
    valid = np.isfinite(z)
    crossed = valid & (np.abs(np.where(valid, z, 0.0)) >= bounds)
    status = "invalid_statistic" if not valid.all() else _information_status(fractions)
    nan = (math.nan,) * z.size
    return _result(
        "gst", alpha, z=z, bounds=bounds, lower=lower, upper=upper, e_values=nan,
        pvalues=nan, crossed=crossed, status=status,
    )  # fmt: skip


def gst_inflation(
    information_fractions: Floats,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    spending: SpendingKind = "obf",
    convention: Convention = DEFAULT_CONVENTION,
    rho: float = 2.0,
) -> float:
    """Max-sample inflation N_max / N_fixed that keeps the target power (STATS.md §4.3).

    Solves for the drift η (E[Z] at t = 1) at which the upper boundary is crossed
    with probability `power`, by the same recursion under the alternative, and
    returns (η / (z_{1−α/2} + z_{power}))². Five equal looks at 80% power (STATS.md
    §4.3 table): LD OBF two-sided 1.038, per-side 1.025, LD Pocock-like 1.212
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
    _check_design(alpha, spending, rho, convention)
    if not 0 < power < 1:
        raise ConfigError(
            f"gst_inflation: power == {power}, must be in (0, 1); pass e.g. 0.8"
        )
    fractions = _check_fractions(information_fractions, "gst_inflation")
    bounds = _boundaries(fractions, alpha, spending, convention, rho)[0]
    fixed = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))

    def shortfall(drift: float) -> float:
        return _upper_crossing(fractions, bounds, drift) - power

    drift = optimize.brentq(shortfall, 0.5 * fixed, 4.0 * fixed, xtol=1e-10)
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
        and np.all(np.diff(fractions) > 0)
    ):
        raise DataError(
            f"{where}: information_fractions == {fractions.tolist()} must be finite, "
            "positive and strictly increasing; pass I_k/I_max (≈ N_k/N_max) per look"
        )
    return tuple(fractions.tolist())
