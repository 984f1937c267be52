"""Bracketed root finding for the boundary and sizing equations (Brent's method).

Brent (1973, "Algorithms for Minimization without Derivatives", ch. 4): inverse
quadratic or linear interpolation inside a shrinking bracket, with a bisection
whenever the interpolated step is not short enough. The steps and stopping rule
are those of `scipy.optimize.brentq`, so the roots are the same floats, without
importing `scipy.optimize` (which loads `scipy.linalg`: half a second of CPU).
"""

from __future__ import annotations

from collections.abc import Callable

DEFAULT_RTOL = 4 * 2.220446049250313e-16  # 4 ε, scipy.optimize.brentq's default
MAX_ITERATIONS = 100


def brent_root(
    function: Callable[[float], float],
    low: float,
    high: float,
    *,
    xtol: float,
    rtol: float = DEFAULT_RTOL,
) -> float:
    """The root of `function` in [low, high], to xtol + rtol·|root|.

    Raises:
        ValueError: `function` has the same sign at both ends.
        RuntimeError: no convergence in 100 iterations.
    """
    previous, current = float(low), float(high)
    f_previous, f_current = float(function(previous)), float(function(current))
    if f_previous * f_current > 0:
        raise ValueError(
            f"brent_root: f({low}) and f({high}) have the same sign; "
            "widen the bracket so that it contains a root"
        )
    if f_previous == 0:
        return previous
    if f_current == 0:
        return current
    other = f_other = step = last_step = 0.0  # `other` keeps the bracket's far end
    for _ in range(MAX_ITERATIONS):
        if f_previous * f_current < 0:
            other, f_other = previous, f_previous
            step = last_step = current - previous
        if abs(f_other) < abs(f_current):  # the best estimate is the smaller |f|
            previous, current, other = current, other, current
            f_previous, f_current, f_other = f_current, f_other, f_current
        tolerance = (xtol + rtol * abs(current)) / 2
        half = (other - current) / 2
        if f_current == 0 or abs(half) < tolerance:
            return current
        points = ((previous, f_previous), (current, f_current), (other, f_other))
        step, last_step = _next_steps(points, step, last_step, tolerance, half)
        previous, f_previous = current, f_current
        if abs(step) > tolerance:
            current += step
        else:
            current += tolerance if half > 0 else -tolerance
        f_current = float(function(current))
    raise RuntimeError(
        f"brent_root: no root to {xtol} in {MAX_ITERATIONS} iterations in "
        f"[{low}, {high}]; loosen xtol"
    )


def _next_steps(
    points: tuple[tuple[float, float], ...],
    step: float,
    last_step: float,
    tolerance: float,
    half: float,
) -> tuple[float, float]:
    """The next step and the one to compare with after it (interpolate or bisect)."""
    (_, f_previous), (_, f_current), _ = points
    if abs(last_step) > tolerance and abs(f_current) < abs(f_previous):
        trial = _interpolated_step(*points)
        if 2 * abs(trial) < _smaller(abs(last_step), 3 * abs(half) - tolerance):
            return trial, step
    return half, half


def _interpolated_step(
    previous: tuple[float, float],
    current: tuple[float, float],
    other: tuple[float, float],
) -> float:
    """The secant step (two distinct points) or inverse quadratic step (three)."""
    (x_p, f_p), (x_c, f_c), (x_o, f_o) = previous, current, other
    if x_p == x_o:
        return -f_c * (x_c - x_p) / (f_c - f_p)
    slope_p = (f_p - f_c) / (x_p - x_c)
    slope_o = (f_o - f_c) / (x_o - x_c)
    return -f_c * (f_o * slope_o - f_p * slope_p) / (slope_o * slope_p * (f_o - f_p))


def _smaller(first: float, second: float) -> float:
    """min(first, second), the second on a tie or a NaN (as C's `a < b ? a : b`)."""
    return first if first < second else second
