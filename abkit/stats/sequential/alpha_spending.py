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
from scipy import special

from abkit.errors import ConfigError
from abkit.stats.floats import ieee
from abkit.stats.roots import brent_root, newton_root
from abkit.stats.sequential.common import FloatArray, _check_alpha

SpendingKind = Literal["obf", "pocock", "power"]
BoundaryKind = Literal["obf", "pocock", "power", "pocock_constant"]
"""A spending function, or Pocock's classical constant boundary."""
Convention = Literal["two-sided", "per-side"]
Sides = Literal[1, 2]

DEFAULT_CONVENTION: Convention = "per-side"
"""gsDesign, rpact and ldbounds: each side spends the function at α/2."""
Z_BOUND_CAP = 20.0
"""Largest reported |z| bound; P(|Z| > 20) < 1e-88, so capping spends nothing."""
_TAIL_SDS = 10.0  # an unbounded side stops 10 SDs from the mean: mass beyond < 1e-23
_POINTS_PER_SD = 16  # Simpson spacing ≤ SD/16 of a look-to-look increment
_MIN_POINTS, _MAX_POINTS = 101, 2001


@ieee
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
    [0, 1]: a look past the planned information spends all of α. The default is
    `"per-side"`, the convention of gsDesign, rpact and ldbounds.

    Args:
        t: information fraction I_k / I_max.
        alpha: two-sided type I error of the whole design.
        kind: `"obf"`, `"pocock"` or `"power"`.
        rho: exponent of the power family (Spotify's `confidence` uses 2).
        convention: `"two-sided"` or `"per-side"`.

    Returns:
        The cumulative two-sided alpha α(t) (both sides together).
    """
    _check_design(alpha, kind, rho, convention, ("obf", "pocock", "power"))
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
    kind: BoundaryKind,
    convention: Convention,
    rho: float,
    sides: Sides = 2,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """|z| bounds and the alpha actually spent per look, under H0 (cached: pure).

    `sides=1` is the one-sided test at one-sided level `alpha` (upper bound only,
    each spending function at `alpha`). A look with the same fraction as the one
    before it (a plateau of information) repeats its bound and spends nothing.
    """
    if kind == "pocock_constant":
        return _constant_boundaries(fractions, alpha, sides)
    cumulative = _cumulative_alpha(fractions, alpha, kind, rho, convention, sides)
    increments = np.diff(cumulative, prepend=0.0)
    recursion = _Recursion(fractions, sides)
    spent_total = 0.0
    bounds: list[float] = []
    spent: list[float] = []
    for k in range(len(fractions)):
        if recursion.is_plateau(k):
            bounds.append(bounds[-1] if bounds else Z_BOUND_CAP)
            spent.append(0.0)
            continue
        # nominal increment plus whatever earlier (capped) looks left unspent; a
        # zero increment (alpha exhausted after t = 1) must not spend rounding noise
        carry = float(cumulative[k - 1]) - spent_total if k else 0.0
        target = float(increments[k]) + carry if increments[k] > 0 else 0.0
        bound = _solve_bound(recursion, k, target)
        probability = recursion.crossing(k, bound)
        recursion.advance(k, bound)
        bounds.append(bound)
        spent.append(probability)
        spent_total += probability
    return tuple(bounds), tuple(spent)


def _cumulative_alpha(
    fractions: tuple[float, ...],
    alpha: float,
    kind: SpendingKind,
    rho: float,
    convention: Convention,
    sides: Sides,
) -> FloatArray:
    """α(t_k): two-sided by `convention`, or one side's spending at `alpha`."""
    t = np.asarray(fractions, dtype=np.float64)
    if sides == 1:  # per-side spending at 2α is twice f(t; α)
        return _spending_curve(t, 2 * alpha, kind, rho, "per-side") / 2
    return _spending_curve(t, alpha, kind, rho, convention)


def _constant_boundaries(
    fractions: tuple[float, ...], alpha: float, sides: Sides
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Pocock's (1977) classical boundary: one constant c for every look.

    c solves P(cross ±c at some look | H0) = α at the looks given (K = 5 equal
    looks, α = 0.05 two-sided: c = 2.413, Jennison & Turnbull 2000, table 2.1).
    """

    def spent_at(bound: float) -> list[float]:
        recursion = _Recursion(fractions, sides)
        spent = []
        for k in range(len(fractions)):
            if recursion.is_plateau(k):
                spent.append(0.0)
                continue
            spent.append(recursion.crossing(k, bound))
            recursion.advance(k, bound)
        return spent

    fixed = float(special.ndtri(1 - alpha / sides))
    bound = brent_root(lambda c: sum(spent_at(c)) - alpha, fixed, 12.0, xtol=1e-12)
    return (bound,) * len(fractions), tuple(spent_at(bound))


class _Recursion:
    """Sub-density of S_k = Z_k·√t_k on the continuation region, look by look."""

    def __init__(
        self, fractions: tuple[float, ...], sides: Sides, drift: float = 0.0
    ) -> None:
        self.fractions, self.sides, self.drift = fractions, sides, drift
        self.nodes, self.mass = np.zeros(1), np.ones(1)  # S_0 = 0: a point mass
        self.time = 0.0

    def is_plateau(self, k: int) -> bool:
        """No information since the density was last carried forward."""
        return self.fractions[k] <= self.time

    def crossing(self, k: int, bound: float, upper_only: bool = False) -> float:
        """P(first crossing at look k) for the |z| (or upper) bound `bound`."""
        upper, lower = _crossing(
            self.nodes,
            self.mass,
            bound * math.sqrt(self.fractions[k]),
            self.fractions[k] - self.time,
            self.drift,
        )
        return upper if upper_only or self.sides == 1 else upper + lower

    def crossing_slope(self, k: int, bound: float) -> tuple[float, float]:
        """`crossing(k, bound)` and its derivative in `bound` (minus the densities)."""
        t, step = self.fractions[k], self.fractions[k] - self.time
        scale = bound * math.sqrt(t)
        upper, lower = _crossing(self.nodes, self.mass, scale, step, self.drift)
        at_upper, at_lower = _densities(self.nodes, self.mass, scale, step, self.drift)
        if self.sides == 1:
            return upper, -math.sqrt(t) * at_upper
        return upper + lower, -math.sqrt(t) * (at_upper + at_lower)

    def advance(self, k: int, bound: float) -> None:
        """Carry the density to look k, removing the paths that crossed there."""
        if k + 1 == len(self.fractions):
            return
        t = self.fractions[k]
        later = [f - t for f in self.fractions[k + 1 :] if f > t]
        step = t - self.time
        self.nodes, self.mass = _propagate(
            self.nodes,
            self.mass,
            bound=bound,
            t=t,
            step=step,
            next_step=later[0] if later else step,
            drift=self.drift,
            sides=self.sides,
        )
        self.time = t


def _solve_bound(recursion: _Recursion, k: int, target: float) -> float:
    """The c with P(cross at look k, not before) = target, on the log scale.

    The crossing probability falls with c and its derivative is minus the
    sub-density at ±c, which the recursion has: Newton steps (safeguarded by
    bisection, `newton_root`) from the bound a first look would have, which lies
    above the root (earlier looks only remove paths), converge in a few steps to
    within 1e-12 of it.
    """

    def excess(bound: float) -> float:
        return math.log(max(recursion.crossing(k, bound), _TINY)) - math.log(target)

    if target <= 0 or excess(Z_BOUND_CAP) >= 0:
        return Z_BOUND_CAP
    if excess(0.0) <= 0:
        return 0.0

    def excess_and_slope(bound: float) -> tuple[float, float]:
        probability, slope = recursion.crossing_slope(k, bound)
        if probability <= _TINY:  # as `excess`; bisect (no usable slope)
            return math.log(_TINY) - math.log(target), math.nan
        return math.log(probability) - math.log(target), slope / probability

    start = float(special.ndtri(1 - target / recursion.sides))
    return newton_root(excess_and_slope, 0.0, Z_BOUND_CAP, start=start, xtol=1e-12)


_TINY = 1e-300
"""Crossing probabilities below this count as this (their log stays finite)."""


def _crossing(
    nodes: FloatArray, mass: FloatArray, bound: float, step: float, drift: float
) -> tuple[float, float]:
    """P(S_k > b) and P(S_k < −b) jointly with no earlier crossing."""
    mean = nodes + drift * step
    sd = math.sqrt(step)
    upper = float(mass @ special.ndtr((mean - bound) / sd))
    lower = float(mass @ special.ndtr((-bound - mean) / sd))
    return upper, lower


def _densities(
    nodes: FloatArray, mass: FloatArray, bound: float, step: float, drift: float
) -> tuple[float, float]:
    """Sub-densities of S_k at b and at −b, with no earlier crossing."""
    mean = nodes + drift * step
    sd = math.sqrt(step)
    upper = float(mass @ _normal_pdf((mean - bound) / sd)) / sd
    lower = float(mass @ _normal_pdf((-bound - mean) / sd)) / sd
    return upper, lower


def _normal_pdf(x: FloatArray) -> FloatArray:
    density: FloatArray = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return density


def _propagate(
    nodes: FloatArray,
    mass: FloatArray,
    *,
    bound: float,
    t: float,
    step: float,
    next_step: float,
    drift: float,
    sides: Sides = 2,
) -> tuple[FloatArray, FloatArray]:
    """Sub-density of S_k on the continuation region as Simpson masses f(s_j)·w_j.

    The grid spans the whole region between the bounds, however far out they
    lie (a bound of 18 SDs needs the density out there: cutting it at 10 SDs put
    look 3 of 200 at 16.87 instead of 18.26). Only an unbounded side (the lower
    side of a one-sided test) or the far side of a drift is cut at `_TAIL_SDS`.
    """
    sd_t = math.sqrt(t)
    low = drift * t - _TAIL_SDS * sd_t
    if sides == 2:
        low = -bound * sd_t if drift == 0 else max(low, -bound * sd_t)
    high = (
        bound * sd_t if drift == 0 else min(bound * sd_t, drift * t + _TAIL_SDS * sd_t)
    )
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
    fractions: tuple[float, ...],
    bounds: tuple[float, ...],
    drift: float,
    sides: Sides = 2,
) -> float:
    """P(cross the upper bound at some look) when E[S_t] = drift·t."""
    recursion = _Recursion(fractions, sides, drift)
    total = 0.0
    for k, bound in enumerate(bounds):
        if recursion.is_plateau(k):
            continue
        total += recursion.crossing(k, bound, upper_only=True)
        recursion.advance(k, bound)
    return total


def _check_design(
    alpha: float,
    kind: str,
    rho: float,
    convention: Convention,
    kinds: tuple[str, ...] = ("obf", "pocock", "power", "pocock_constant"),
) -> None:
    _check_alpha(alpha)
    if kind not in kinds:
        raise ConfigError(
            f"alpha spending: spending == {kind!r}; use one of "
            + ", ".join(repr(k) for k in kinds)
        )
    if convention not in ("two-sided", "per-side"):
        raise ConfigError(
            f"alpha spending: convention == {convention!r}; "
            "use 'two-sided' or 'per-side'"
        )
    if not rho > 0:
        raise ConfigError(f"alpha spending: rho == {rho}, must be > 0; Spotify uses 2")
