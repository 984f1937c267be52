"""Bracketed root finding for the boundary and sizing equations (Brent's method).

`scipy.optimize` pulls in `scipy.linalg` and costs about half a second of CPU to
import, so it is imported on the first root solved, not with the statistics.
"""

from __future__ import annotations

from collections.abc import Callable


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
