"""The normal, Student t and χ² tail functions of the tests, from `scipy.special`.

`scipy.stats` distribution objects cost a second and a half of CPU to import and
tens of microseconds per frozen object; the tests only need a few tail
functions, and `scipy.stats` itself computes them with these same
`scipy.special` routines (cephes/boost `ndtr`, `ndtri`, `stdtr`, `stdtrit`,
`chdtrc`), so the values are bit for bit those of `norm`, `t(df)` and `chi2(df)`.
`scipy.stats` stays for the methods that truly need it (exact tests, the
Clopper–Pearson band), imported inside those functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

__all__ = [
    "Reference",
    "chi2_sf",
    "normal_cdf",
    "normal_isf",
    "normal_ppf",
    "normal_sf",
]


def normal_cdf(x: float) -> float:
    """Φ(x), as `scipy.stats.norm.cdf`."""
    return float(special.ndtr(x))


def normal_sf(x: float) -> float:
    """1 − Φ(x), as `scipy.stats.norm.sf`."""
    return float(special.ndtr(-x))


def normal_ppf(q: float) -> float:
    """Φ⁻¹(q), as `scipy.stats.norm.ppf`."""
    return float(special.ndtri(q))


def normal_isf(q: float) -> float:
    """Φ⁻¹(1 − q), as `scipy.stats.norm.isf`."""
    return float(-special.ndtri(q))


def chi2_sf(x: float, df: float) -> float:
    """The upper tail of χ²(df) at x, as `scipy.stats.chi2.sf`."""
    if not df > 0:
        return math.nan
    if x < 0:
        return 1.0
    return float(special.chdtrc(df, x))


@dataclass(frozen=True, slots=True)
class Reference:
    """A test's reference distribution: N(0, 1) when df = inf, else Student t(df).

    Has the `cdf`, `sf`, `ppf` and `isf` of `scipy.stats.t(df)` (and of
    `scipy.stats.norm` at df = inf) with the same values.
    """

    df: float

    @property
    def normal(self) -> bool:
        """Whether this is the normal distribution (df = inf)."""
        return math.isinf(self.df)

    def cdf(self, x: float) -> float:
        """P(X ≤ x)."""
        return normal_cdf(x) if self.normal else float(special.stdtr(self.df, x))

    def sf(self, x: float) -> float:
        """P(X > x)."""
        return normal_sf(x) if self.normal else float(special.stdtr(self.df, -x))

    def ppf(self, q: float) -> float:
        """The q-quantile."""
        if self.normal:
            return normal_ppf(q)
        if q == 0 and self.df > 0:  # stdtrit(df, 0) is +inf; the support ends at -inf
            return -math.inf
        return float(special.stdtrit(self.df, q))

    def isf(self, q: float) -> float:
        """The (1 − q)-quantile."""
        if self.normal:
            return normal_isf(q)
        if q == 0 and self.df > 0:
            return math.inf
        return float(-special.stdtrit(self.df, q))
