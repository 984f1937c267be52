"""Lan–DeMets alpha spending and the boundaries it implies (STATS.md §4.3).

Lan & DeMets (1983) spending functions, and the |z| boundaries they imply at the
information fractions actually observed, by the Armitage, McPherson & Rowe (1969)
recursive numerical integration (as in Reboussin et al.'s ldbounds).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import optimize, special

from abkit.errors import ConfigError
from abkit.stats.sequential.common import FloatArray, _check_alpha

SpendingKind = Literal["obf", "pocock", "power"]
Convention = Literal["two-sided", "per-side"]

DEFAULT_CONVENTION: Convention = "two-sided"
Z_BOUND_CAP = 20.0
"""Largest reported |z| bound; P(|Z| > 20) < 1e-88, so capping spends nothing."""
_TAIL_SDS = 10.0  # the density grid stops 10 SDs from the mean: mass beyond < 1e-23
_POINTS_PER_SD = 16  # Simpson spacing ≤ SD/16 of a look-to-look increment
_MIN_POINTS, _MAX_POINTS = 101, 2001


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
