"""Bracketed root finding for the boundary and sizing equations.

`brent_root` is `scipy.optimize.brentq`. `scipy.optimize` pulls in `scipy.linalg`
and costs about a third of a second of CPU to import, so it is imported on the first
root solved, not with the statistics; the equations whose derivative is known (the
group-sequential boundary, solved on every analysis) use `newton_root` instead and
never import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_MAX_STEPS = 200
"""Enough for bisection alone to shrink any float bracket below its spacing."""


def brent_root(
    function: Callable[[float], float],
    low: float,
    high: float,
    *,
    xtol: float,
    rtol: float | None = None,
) -> float:
    """The root of `function` in [low, high] by `scipy.optimize.brentq`."""
    from scipy import optimize  # only when a root is solved (see the module doc)

    if rtol is None:
        return float(optimize.brentq(function, low, high, xtol=xtol))
    return float(optimize.brentq(function, low, high, xtol=xtol, rtol=rtol))


def newton_root(
    function: Callable[[float], tuple[float, float]],
    low: float,
    high: float,
    *,
    start: float,
    xtol: float,
) -> float:
    """The root in [low, high] of a decreasing function, by safeguarded Newton steps.

    Newton's method kept inside a bracket (Press, Teukolsky, Vetterling & Flannery,
    "Numerical Recipes", 3rd ed., §9.4, "Newton-Raphson method using derivative",
    safeguarded by bisection): each evaluation shrinks the bracket [low, high], and
    a Newton step that would leave it (or a slope that is not negative and finite)
    is replaced by the bisection of the bracket. It stops when a step moves the
    estimate by at most `xtol`: after a Newton step the error is then of order
    xtol², after a bisection at most `xtol`.

    Args:
        function: x ↦ (f(x), f'(x)), decreasing, with f(low) > 0 > f(high) (the
            caller has checked the signs).
        low: left end of the bracket.
        high: right end of the bracket.
        start: first estimate (the bracket's midpoint when outside it).
        xtol: absolute tolerance on the root.

    Returns:
        The root, to within `xtol`.
    """
    x = start if low < start < high else 0.5 * (low + high)
    for _ in range(_MAX_STEPS):
        value, slope = function(x)
        if value == 0:
            return x
        if value > 0:
            low = x
        else:
            high = x
        usable = slope < 0 and math.isfinite(slope)
        candidate = x - value / slope if usable else math.nan
        if not low < candidate < high:  # outside the bracket, or NaN: bisect
            candidate = 0.5 * (low + high)
        if abs(candidate - x) <= xtol:
            return candidate
        x = candidate
    return x
