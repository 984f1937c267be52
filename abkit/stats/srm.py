"""Sample ratio mismatch: is the observed split the planned one? (STATS.md §5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import stats as scipy_stats

SrmStatus = Literal["ok", "no_units", "single_group"]


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Pearson chi-square goodness of fit of unit counts to the planned weights."""

    counts: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float
    df: int
    pvalue: float
    threshold: float
    status: SrmStatus

    @property
    def flagged(self) -> bool:
        """True when the split differs from the plan beyond the threshold."""
        return self.status == "ok" and self.pvalue < self.threshold

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self) | {"flagged": self.flagged}


def srm_test(
    counts: Sequence[int], weights: Sequence[float], threshold: float = 0.001
) -> SrmResult:
    """Chi-square SRM test (GB `check_srm`; threshold 0.001 as GrowthBook).

    Groups with weight ≤ 0 are skipped. Degenerate inputs return a status.
    """
    pairs = [(int(c), float(w)) for c, w in zip(counts, weights, strict=True) if w > 0]
    observed = tuple(c for c, _ in pairs)
    total, weight_sum = sum(observed), sum(w for _, w in pairs)
    if len(pairs) < 2:
        return SrmResult(observed, (), math.nan, 0, math.nan, threshold, "single_group")
    if total == 0:
        return SrmResult(observed, (), math.nan, 0, math.nan, threshold, "no_units")
    expected = tuple(total * w / weight_sum for _, w in pairs)
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    df = len(pairs) - 1
    pvalue = float(scipy_stats.chi2.sf(statistic, df))
    return SrmResult(observed, expected, statistic, df, pvalue, threshold, "ok")
