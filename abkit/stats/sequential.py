"""Sequential tests: alpha-spending GST, asymptotic CS and mSPRT (STATS.md §4).

Every function takes per-look floats (the effect estimate Δ̂_k, its standard error
SE_k, sample sizes or information fractions) computed from cumulative sufficient
statistics, never unit rows, and uses the normal z (never Welch t): STATS.md §4.4.

- Group-sequential tests (§4.3): Lan & DeMets (1983) alpha spending, boundaries by
  the Armitage, McPherson & Rowe (1969) recursive numerical integration at the
  information fractions actually observed.
- Asymptotic confidence sequences (§4.2): Waudby-Smith, Arnold, Wu, Howard & Ramdas,
  "Time-uniform central limit theory and asymptotic confidence sequences" (arXiv
  2103.06476), in GrowthBook's form.
- mSPRT (§4.1): Johari, Pekelis & Walsh (2022), "Always Valid Inference: Continuous
  Monitoring of A/B Tests"; equal to the asymptotic CS when τ² = ρ²·s².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from abkit.errors import ConfigError, DataError

FloatArray = npt.NDArray[np.float64]
Floats = Sequence[float] | npt.NDArray[np.floating[Any]]

SpendingKind = Literal["obf", "pocock", "power"]
Convention = Literal["two-sided", "per-side"]
SequentialMethod = Literal["gst", "asymptotic-cs", "msprt"]
SequentialStatus = Literal[
    "ok",
    "no_looks",
    "invalid_statistic",
    "information_overrun",
    "alpha_exhausted",
    "empty_intersection",
]
STATUS_MESSAGES: dict[SequentialStatus, str] = {
    "ok": "",
    "no_looks": "no looks yet: nothing to test",
    "invalid_statistic": "a look has a NaN/infinite statistic or a zero standard "
    "error; it was skipped",
    "information_overrun": "the last look is past the planned information (t > 1); "
    "its bound spends all remaining alpha",
    "alpha_exhausted": "looks after t = 1 have no alpha left: their bounds are "
    "capped and cannot be crossed in practice",
    "empty_intersection": "the intersected confidence sequence is empty: the effect "
    "is probably not constant over time",
}

DEFAULT_CONVENTION: Convention = "two-sided"
Z_BOUND_CAP = 20.0
"""Largest reported |z| bound; P(|Z| > 20) < 1e-88, so capping spends nothing."""
_TAIL_SDS = 10.0  # the density grid stops 10 SDs from the mean: mass beyond < 1e-23
_POINTS_PER_SD = 16  # Simpson spacing ≤ SD/16 of a look-to-look increment
_MIN_POINTS, _MAX_POINTS = 101, 2001


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


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """Per-look outcome of a sequential test (GST, asymptotic CS or mSPRT).

    Attributes:
        method: which test produced the result.
        alpha: two-sided type I error.
        z_statistics: Z_k = (Δ̂_k − null) / SE_k per look.
        z_bounds: |z| needed to reject at each look.
        ci_lower: lower confidence bound per look (GST: repeated CI
            Δ̂_k − c_k·SE_k; CS and mSPRT: running maximum over looks).
        ci_upper: upper confidence bound per look (running minimum for CS/mSPRT).
        e_values: mixture likelihood ratio Λ_k = E_k (NaN for GST).
        pvalues: always-valid p-value, the running minimum of 1/E (NaN for GST,
            which has no always-valid p-value).
        crossed: whether any look rejected the null.
        first_crossing_index: 0-based index of the first rejecting look, or None.
        status: a code from `STATUS_MESSAGES`.
    """

    method: SequentialMethod
    alpha: float
    z_statistics: tuple[float, ...]
    z_bounds: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]
    e_values: tuple[float, ...]
    pvalues: tuple[float, ...]
    crossed: bool
    first_crossing_index: int | None
    status: SequentialStatus

    @property
    def current_bound(self) -> float:
        """The |z| bound at the latest look (NaN before any look)."""
        return self.z_bounds[-1] if self.z_bounds else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        verdict = (
            f"rejected at look {self.first_crossing_index + 1}"
            if self.first_crossing_index is not None
            else "not rejected"
        )
        rows = "\n".join(
            f"look {k + 1:>3}  z={z:+.3f}  |z|≥{c:.3f}  ci=[{lo:.4g}, {hi:.4g}]"
            + ("" if math.isnan(p) else f"  p={p:.3g}")
            for k, (z, c, lo, hi, p) in enumerate(
                zip(
                    self.z_statistics,
                    self.z_bounds,
                    self.ci_lower,
                    self.ci_upper,
                    self.pvalues,
                    strict=True,
                )
            )
        )
        return f"{self.method} α={self.alpha:g}: {verdict} ({self.status})\n{rows}"


# --- Lan–DeMets alpha spending (STATS.md §4.3) -----------------------------------


def spending(
    t: float,
    alpha: float = 0.05,
    kind: SpendingKind = "obf",
    rho: float = 2.0,
    convention: Convention = DEFAULT_CONVENTION,
) -> float:
    """Two-sided alpha spent by information fraction t (STATS.md §4.3, Lan–DeMets 1983).

    O'Brien–Fleming-like α(t) = 2 − 2Φ(z_{1−α/2}/√t); Pocock-like
    α(t) = α·ln(1 + (e − 1)t); Kim–DeMets power family α(t) = α·t^ρ. With
    `convention="per-side"` each side spends the function at α/2 (gsDesign,
    ldbounds) and the total is twice that. Pocock-like and power spending are
    linear in α, so the two conventions only differ for `"obf"`. t is clipped to
    [0, 1]: a look past the planned information spends all of α.

    Args:
        t: information fraction I_k / I_max.
        alpha: two-sided type I error of the whole design.
        kind: `"obf"`, `"pocock"` or `"power"`.
        rho: exponent of the power family (Spotify's `confidence` uses 2).
        convention: `"two-sided"` or `"per-side"`.

    Returns:
        The cumulative two-sided alpha α(t) (both sides together).
    """
    _check_design(alpha, kind, rho, convention)
    curve = _spending_curve(
        np.asarray([t], dtype=np.float64), alpha, kind, rho, convention
    )
    return float(curve[0])


def _spending_curve(
    t: FloatArray, alpha: float, kind: SpendingKind, rho: float, convention: Convention
) -> FloatArray:
    clipped = np.clip(t, 0.0, 1.0)
    level = alpha if convention == "two-sided" else alpha / 2
    with np.errstate(divide="ignore"):
        if kind == "obf":
            spent = 2 * special.ndtr(-special.ndtri(1 - level / 2) / np.sqrt(clipped))
        elif kind == "pocock":
            spent = level * np.log1p((math.e - 1) * clipped)
        else:
            spent = level * clipped**rho
    spent = np.asarray(spent, dtype=np.float64)
    return spent if convention == "two-sided" else 2 * spent


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


# --- the Armitage–McPherson–Rowe recursion --------------------------------------


@lru_cache(maxsize=256)
def _boundaries(
    fractions: tuple[float, ...],
    alpha: float,
    kind: SpendingKind,
    convention: Convention,
    rho: float,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """|z| bounds and the alpha actually spent per look, under H0 (cached: pure)."""
    cumulative = _spending_curve(np.asarray(fractions), alpha, kind, rho, convention)
    increments = np.diff(cumulative, prepend=0.0)
    nodes, mass = np.zeros(1), np.ones(1)  # S_0 = 0: a point mass
    previous, spent_total = 0.0, 0.0
    bounds: list[float] = []
    spent: list[float] = []
    for k, t in enumerate(fractions):
        step = t - previous
        # nominal increment plus whatever earlier (capped) looks left unspent; a
        # zero increment (alpha exhausted after t = 1) must not spend rounding noise
        carry = float(cumulative[k - 1]) - spent_total if k else 0.0
        target = float(increments[k]) + carry if increments[k] > 0 else 0.0
        bound = _solve_bound(nodes, mass, t, step, target)
        upper, lower = _crossing(nodes, mass, bound * math.sqrt(t), step, 0.0)
        bounds.append(bound)
        spent.append(upper + lower)
        spent_total += upper + lower
        if k + 1 < len(fractions):
            next_step = fractions[k + 1] - t
            nodes, mass = _propagate(
                nodes,
                mass,
                bound=bound,
                t=t,
                step=step,
                next_step=next_step,
                drift=0.0,
            )
        previous = t
    return tuple(bounds), tuple(spent)


def _solve_bound(
    nodes: FloatArray, mass: FloatArray, t: float, step: float, target: float
) -> float:
    """The c with P(cross ±c√t at this look, not before) = target (log scale)."""

    def excess(bound: float) -> float:
        upper, lower = _crossing(nodes, mass, bound * math.sqrt(t), step, 0.0)
        return math.log(max(upper + lower, 1e-300)) - math.log(target)

    if target <= 0 or excess(Z_BOUND_CAP) >= 0:
        return Z_BOUND_CAP
    if excess(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(excess, 0.0, Z_BOUND_CAP, xtol=1e-12))


def _crossing(
    nodes: FloatArray, mass: FloatArray, bound: float, step: float, drift: float
) -> tuple[float, float]:
    """P(S_k > b) and P(S_k < −b) jointly with no earlier crossing."""
    mean = nodes + drift * step
    sd = math.sqrt(step)
    upper = float(mass @ special.ndtr((mean - bound) / sd))
    lower = float(mass @ special.ndtr((-bound - mean) / sd))
    return upper, lower


def _propagate(
    nodes: FloatArray,
    mass: FloatArray,
    *,
    bound: float,
    t: float,
    step: float,
    next_step: float,
    drift: float,
) -> tuple[FloatArray, FloatArray]:
    """Sub-density of S_k on (−c√t, c√t) as Simpson masses f(s_j)·w_j."""
    sd_t = math.sqrt(t)
    low = max(-bound * sd_t, drift * t - _TAIL_SDS * sd_t)
    high = min(bound * sd_t, drift * t + _TAIL_SDS * sd_t)
    if high <= low:  # everything has crossed already
        return np.zeros(0), np.zeros(0)
    finest = math.sqrt(min(step, next_step))
    points = math.ceil(_POINTS_PER_SD * (high - low) / finest)
    points = min(max(points, _MIN_POINTS), _MAX_POINTS) | 1  # Simpson needs odd
    grid = np.linspace(low, high, points)
    weights = np.full(points, 2.0)
    weights[1::2] = 4.0
    weights[[0, -1]] = 1.0
    weights *= (high - low) / (points - 1) / 3
    scaled = (grid[:, None] - nodes[None, :] - drift * step) / math.sqrt(step)
    kernel = np.exp(-0.5 * scaled * scaled) / math.sqrt(2 * math.pi * step)
    return grid, (kernel @ mass) * weights


def _upper_crossing(
    fractions: tuple[float, ...], bounds: tuple[float, ...], drift: float
) -> float:
    """P(cross the upper bound at some look) when E[S_t] = drift·t."""
    nodes, mass = np.zeros(1), np.ones(1)
    previous, total = 0.0, 0.0
    for k, (t, bound) in enumerate(zip(fractions, bounds, strict=True)):
        step = t - previous
        total += _crossing(nodes, mass, bound * math.sqrt(t), step, drift)[0]
        if k + 1 < len(fractions):
            next_step = fractions[k + 1] - t
            nodes, mass = _propagate(
                nodes,
                mass,
                bound=bound,
                t=t,
                step=step,
                next_step=next_step,
                drift=drift,
            )
        previous = t
    return total


# --- asymptotic confidence sequences (STATS.md §4.2) -----------------------------


def asymptotic_cs_rho_squared(n_planned: float, alpha: float = 0.05) -> float:
    """Tuning ρ² = (−2 ln α + ln(1 − 2 ln α)) / N* (STATS.md §4.2; GB `sequential_rho`).

    Makes the two-sided CS tightest at N* total units (both arms); Waudby-Smith et
    al. (2021), arXiv 2103.06476.
    """
    _check_alpha(alpha)
    if not n_planned > 0:
        raise ConfigError(
            f"asymptotic CS: n_planned == {n_planned}, must be > 0; pass the total "
            "sample size (all arms) at which you expect to decide"
        )
    return (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / n_planned


def asymptotic_cs_halfwidth(
    se: float, n_total: float, n_planned: float, alpha: float = 0.05
) -> float:
    """Two-sided asymptotic CS half-width at one look (STATS.md §4.2, GB "eq 9").

    halfwidth = s·sqrt(2(Nρ² + 1)/(N²ρ²)·ln(sqrt(Nρ² + 1)/α)) with s² = N·SE²
    (Waudby-Smith et al. 2021, arXiv 2103.06476).

    Args:
        se: standard error of the effect estimate at this look.
        n_total: units so far, all arms (N).
        n_planned: N*, the total units at which the CS is tuned to be tightest.
        alpha: two-sided type I error.

    Returns:
        The half-width in the units of the effect.
    """
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    return float(_cs_halfwidth(np.asarray(se), np.asarray(float(n_total)), rho2, alpha))


def asymptotic_cs_evalue(
    estimate: float,
    se: float,
    n_total: float,
    n_planned: float,
    alpha: float = 0.05,
    *,
    null_value: float = 0.0,
) -> float:
    """E = exp(ρ²N z²/(2(Nρ² + 1))) / sqrt(Nρ² + 1) (STATS.md §4.2, GB "eq 155").

    z = (Δ̂ − null)/SE; 1/E is GB's sequential p-value (Waudby-Smith et al. 2021).
    """
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    z = (estimate - null_value) / se
    return float(_exp(_cs_log_evalue(np.asarray(z), np.asarray(float(n_total)), rho2)))


def asymptotic_cs_test(
    estimates: Floats,
    standard_errors: Floats,
    n_totals: Floats,
    n_planned: float,
    alpha: float = 0.05,
    *,
    null_value: float = 0.0,
) -> SequentialResult:
    """Asymptotic confidence sequence and always-valid p-values over looks (§4.2).

    Per look the CS is Δ̂_k ± halfwidth_k; it is intersected over time (running
    maximum of the lower, running minimum of the upper bound) and the p-value is
    the running minimum of min(1, 1/E_k) (GB returns the current 1/E; the running
    minimum is also valid and monotone). Valid under any look schedule once the CLT
    applies (Waudby-Smith et al. 2021, arXiv 2103.06476).

    Args:
        estimates: Δ̂_k per look (absolute or relative, CUPED or not).
        standard_errors: SE_k per look.
        n_totals: units so far per look, all arms.
        n_planned: N*, total units at which the CS is tuned to be tightest.
        alpha: two-sided type I error.
        null_value: the effect under H0.

    Returns:
        Per-look intersected CS bounds, e-values, p-values and the first crossing.

    Raises:
        ConfigError: alpha or n_planned is invalid.
        DataError: the arrays differ in length.
    """
    rho2 = asymptotic_cs_rho_squared(n_planned, alpha)
    estimate, se, n = (
        _as_array(estimates),
        _as_array(standard_errors),
        _as_array(n_totals),
    )
    _check_lengths("asymptotic_cs_test", estimates=estimate, se=se, n_totals=n)
    if estimate.size == 0:
        return _empty_result("asymptotic-cs", alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (estimate - null_value) / se
        halfwidth = _cs_halfwidth(se, n, rho2, alpha)
        log_e = _cs_log_evalue(z, n, rho2)
    return _always_valid_result(
        "asymptotic-cs",
        alpha,
        estimate=estimate,
        se=se,
        z=z,
        halfwidth=halfwidth,
        log_e=log_e,
    )


def _cs_halfwidth(
    se: FloatArray, n: FloatArray, rho2: float, alpha: float
) -> FloatArray:
    spread = n * rho2 + 1
    variance = n * se * se
    return np.asarray(
        np.sqrt(
            variance * 2 * spread / (n * n * rho2) * np.log(np.sqrt(spread) / alpha)
        ),
        dtype=np.float64,
    )


def _cs_log_evalue(z: FloatArray, n: FloatArray, rho2: float) -> FloatArray:
    spread = n * rho2 + 1
    return np.asarray(
        rho2 * n * z * z / (2 * spread) - 0.5 * np.log(spread), dtype=np.float64
    )


# --- mSPRT (STATS.md §4.1) ------------------------------------------------------


def msprt_tau_squared(
    per_unit_variance: float, n_planned: float, alpha: float = 0.05
) -> float:
    """Mixture variance τ² = ρ²·s² = L·s²/N*, L = −2 ln α + ln(1 − 2 ln α) (§4.1).

    This tuning makes the mSPRT identical to the asymptotic CS tuned to N*
    (STATS.md §4.2 equivalence); s² = N·SE² is the per-unit variance of Δ̂.
    """
    return asymptotic_cs_rho_squared(n_planned, alpha) * per_unit_variance


def msprt_lambda(
    estimate: float, variance: float, tau_squared: float, null_value: float = 0.0
) -> float:
    """Normal-mixture likelihood ratio of the mSPRT (STATS.md §4.1).

    Λ = sqrt(V/(V + τ²))·exp(τ²(Δ̂ − θ₀)²/(2V(V + τ²))) for any estimator with
    Var(Δ̂) = V and mixing distribution N(θ₀, τ²) (Johari, Pekelis & Walsh 2022).
    """
    log_lambda = _msprt_log_lambda(
        np.asarray(estimate - null_value), np.asarray(variance), np.asarray(tau_squared)
    )
    return float(_exp(log_lambda))


def msprt_test(
    estimates: Floats,
    standard_errors: Floats,
    tau_squared: float | Floats,
    alpha: float = 0.05,
    *,
    null_value: float = 0.0,
) -> SequentialResult:
    """Mixture SPRT over looks with always-valid p-values (STATS.md §4.1).

    p_k = min(p_{k−1}, 1/Λ_k), p_0 = 1; reject when Λ_k ≥ 1/α (Ville's inequality).
    The confidence sequence {θ : Λ_k(θ) < 1/α} is Δ̂_k ± sqrt(2V(V + τ²)/τ² ·
    ln(sqrt((V + τ²)/V)/α)), intersected over time (Johari, Pekelis & Walsh 2022).

    Args:
        estimates: Δ̂_k per look.
        standard_errors: SE_k per look (V_k = SE_k²).
        tau_squared: mixture variance, fixed in advance (see `msprt_tau_squared`),
            or one per look.
        alpha: two-sided type I error.
        null_value: θ₀, the effect under H0.

    Returns:
        Per-look Λ, p-values, intersected CS bounds and the first crossing.

    Raises:
        ConfigError: alpha or τ² is invalid.
        DataError: the arrays differ in length.
    """
    _check_alpha(alpha)
    estimate, se = _as_array(estimates), _as_array(standard_errors)
    tau2 = _as_array(tau_squared)
    if tau2.size == 1:
        tau2 = np.full(estimate.shape, tau2[0])
    _check_lengths("msprt_test", estimates=estimate, se=se, tau_squared=tau2)
    if not np.all(tau2 > 0):
        raise ConfigError(
            "msprt_test: tau_squared must be > 0; use msprt_tau_squared()"
        )
    if estimate.size == 0:
        return _empty_result("msprt", alpha)
    variance = se * se
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (estimate - null_value) / se
        spread = (variance + tau2) / variance
        halfwidth = np.sqrt(
            2 * variance * (variance + tau2) / tau2 * np.log(np.sqrt(spread) / alpha)
        )
        log_e = _msprt_log_lambda(estimate - null_value, variance, tau2)
    return _always_valid_result(
        "msprt", alpha, estimate=estimate, se=se, z=z, halfwidth=halfwidth, log_e=log_e
    )


def _msprt_log_lambda(
    difference: FloatArray, variance: FloatArray, tau2: FloatArray
) -> FloatArray:
    total = variance + tau2
    return np.asarray(
        0.5 * np.log(variance / total) + tau2 * difference**2 / (2 * variance * total),
        dtype=np.float64,
    )


# --- shared helpers -------------------------------------------------------------


def _always_valid_result(
    method: SequentialMethod,
    alpha: float,
    *,
    estimate: FloatArray,
    se: FloatArray,
    z: FloatArray,
    halfwidth: FloatArray,
    log_e: FloatArray,
) -> SequentialResult:
    """Running-intersection CS and running-minimum p-values from per-look pieces."""
    valid = np.isfinite(z) & np.isfinite(log_e) & np.isfinite(halfwidth) & (se > 0)
    log_e = np.where(valid, log_e, 0.0)
    pvalues = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_e)))
    lower = np.maximum.accumulate(np.where(valid, estimate - halfwidth, -np.inf))
    upper = np.minimum.accumulate(np.where(valid, estimate + halfwidth, np.inf))
    crossed = valid & (log_e >= -math.log(alpha))
    status: SequentialStatus = "ok"
    if not valid.all():
        status = "invalid_statistic"
    elif np.any(lower > upper):
        status = "empty_intersection"
    e_values = tuple(_exp(log_e).tolist())
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.where(valid, halfwidth / se, math.nan)
    return _result(
        method, alpha, z=z, bounds=bounds, lower=lower, upper=upper, e_values=e_values,
        pvalues=tuple(pvalues.tolist()), crossed=crossed, status=status,
    )  # fmt: skip


def _result(
    method: SequentialMethod,
    alpha: float,
    *,
    z: FloatArray,
    bounds: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    e_values: tuple[float, ...],
    pvalues: tuple[float, ...],
    crossed: npt.NDArray[np.bool_],
    status: SequentialStatus,
) -> SequentialResult:
    hits = np.flatnonzero(crossed)
    return SequentialResult(
        method=method,
        alpha=alpha,
        z_statistics=tuple(z.tolist()),
        z_bounds=tuple(np.asarray(bounds, dtype=np.float64).tolist()),
        ci_lower=tuple(lower.tolist()),
        ci_upper=tuple(upper.tolist()),
        e_values=e_values,
        pvalues=pvalues,
        crossed=bool(hits.size),
        first_crossing_index=int(hits[0]) if hits.size else None,
        status=status,
    )


def _empty_result(method: SequentialMethod, alpha: float) -> SequentialResult:
    return SequentialResult(
        method, alpha, (), (), (), (), (), (), False, None, "no_looks"
    )


def _information_status(fractions: tuple[float, ...]) -> SequentialStatus:
    beyond = [t for t in fractions if t >= 1.0]
    if len(beyond) > 1:
        return "alpha_exhausted"
    return "information_overrun" if fractions and fractions[-1] > 1.0 else "ok"


def _exp(log_values: FloatArray) -> FloatArray:
    """Exponentiate, overflowing to inf silently (an e-value above 1e308 is huge)."""
    with np.errstate(over="ignore"):
        return np.asarray(np.exp(log_values), dtype=np.float64)


def _as_array(values: float | Floats) -> FloatArray:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(
            f"sequential test: alpha == {alpha}, must be in (0, 1); e.g. 0.05"
        )


def _check_design(
    alpha: float, kind: SpendingKind, rho: float, convention: Convention
) -> None:
    _check_alpha(alpha)
    if kind not in ("obf", "pocock", "power"):
        raise ConfigError(
            f"alpha spending: spending == {kind!r}; use 'obf', 'pocock' or 'power'"
        )
    if convention not in ("two-sided", "per-side"):
        raise ConfigError(
            f"alpha spending: convention == {convention!r}; "
            "use 'two-sided' or 'per-side'"
        )
    if not rho > 0:
        raise ConfigError(f"alpha spending: rho == {rho}, must be > 0; Spotify uses 2")


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


def _check_lengths(where: str, **arrays: FloatArray | tuple[float, ...]) -> None:
    sizes = {name: len(array) for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise DataError(
            f"{where}: per-look inputs differ in length ({sizes}); pass one value "
            "per look for each"
        )
