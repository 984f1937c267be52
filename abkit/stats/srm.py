"""Sample ratio mismatch: Pearson χ² and a sequential Bayes-factor test (STATS.md §5).

Both take unit counts per variant (cumulative per look for the sequential test)
and the design weights. Groups with weight ≤ 0 are skipped, as GrowthBook's
`check_srm` does. Degenerate inputs (no units, fewer than two weighted groups)
return a result with a status code, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from abkit.errors import ConfigError, DataError
from abkit.stats.distributions import chi2_sf
from abkit.stats.floats import ieee

SrmStatus = Literal["ok", "no_units", "single_group", "no_new_units"]
STATUS_MESSAGES: dict[SrmStatus, str] = {
    "ok": "",
    "no_units": "no units in any weighted group: no SRM test possible",
    "single_group": "fewer than two groups with weight > 0: no SRM test possible",
    "no_new_units": "enrolment has ended: no unit was assigned since an earlier look, "
    "so the latest looks have nothing new to test; the verdict is that of the last "
    "look with new units",
}
DEFAULT_SRM_THRESHOLD = 0.001
"""GrowthBook's default p-value threshold for the SRM warning (STATS.md §5)."""


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Pearson χ² goodness-of-fit test of the traffic split (STATS.md §5).

    Attributes:
        counts: units per group, as given.
        weights: design weights, as given.
        expected: expected units per group (0 for skipped groups).
        statistic: X² = Σ (o − e)²/e over groups with weight > 0.
        df: degrees of freedom, (groups with weight > 0) − 1.
        pvalue: χ²_df survival function at X² (NaN if no test was possible).
        threshold: flag when pvalue < threshold.
        flagged: whether the split mismatches the design.
        skipped_units: units in groups with weight ≤ 0, left out of the test
            (should be 0; anything else points at the assignment).
        status: a code from `STATUS_MESSAGES`; any code but "ok" means no test.
    """

    counts: tuple[int, ...]
    weights: tuple[float, ...]
    expected: tuple[float, ...]
    statistic: float
    df: int
    pvalue: float
    threshold: float
    flagged: bool
    skipped_units: int
    status: SrmStatus

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        verdict = "SRM" if self.flagged else "no SRM"
        return (
            f"{verdict}: χ²={self.statistic:.4g} (df={self.df}), p={self.pvalue:.3g} "
            f"(threshold {self.threshold:g}); observed {list(self.counts)}, expected "
            f"{[round(e, 1) for e in self.expected]} ({self.status})"
        )


@dataclass(frozen=True, slots=True)
class SequentialSrmResult:
    """Anytime-valid SRM test over looks (STATS.md §5; Lindon & Malek 2022).

    Attributes:
        log_bayes_factors: ln BF of a Dirichlet–multinomial alternative against the
            design multinomial, per look.
        pvalues: always-valid p-value min(1, min over looks so far of 1/BF).
        alpha: flag when a p-value is ≤ alpha.
        concentration: total Dirichlet prior concentration c (prior α = c·p₀).
        flagged: whether any look flagged a mismatch.
        first_flagged_index: 0-based index of the first flagged look, or None.
        skipped_units: units (at the last look) in groups with weight ≤ 0.
        status: a code from `STATUS_MESSAGES`; any code but "ok" means no test.
    """

    log_bayes_factors: tuple[float, ...]
    pvalues: tuple[float, ...]
    alpha: float
    concentration: float
    flagged: bool
    first_flagged_index: int | None
    skipped_units: int
    status: SrmStatus

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        where = (
            f"flagged at look {self.first_flagged_index + 1}"
            if self.first_flagged_index is not None
            else "not flagged"
        )
        latest = self.pvalues[-1] if self.pvalues else math.nan
        note = STATUS_MESSAGES[self.status]
        return f"sequential SRM: {where}, latest p={latest:.3g} ({note or self.status})"


@ieee
def srm_test(
    counts: Sequence[int],
    weights: Sequence[float],
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SrmResult:
    """Pearson χ² SRM test: e_g = N·w_g/Σw, X² = Σ(o − e)²/e, p = χ²_{G−1} sf (§5).

    Matches `scipy.stats.chisquare(counts, expected)` on the weighted groups and
    GrowthBook's `check_srm` (Kohavi, Tang & Xu 2020, "Trustworthy Online Controlled
    Experiments"; Fabijan et al. 2019, KDD).

    Args:
        counts: units assigned to each group.
        weights: design traffic weights (any positive scale); weight ≤ 0 skips a group.
        threshold: flag when the p-value is below it (GrowthBook default 0.001).

    Returns:
        The statistic, p-value, expected counts and whether SRM is flagged.

    Raises:
        DataError: lengths differ, or a count is negative or not finite.

    Example:
        >>> result = srm_test([600, 400], [0.5, 0.5])
        >>> f"{result.pvalue:.3g}", result.flagged
        ('2.54e-10', True)
    """
    observed, design = _check_counts(
        np.asarray(counts, dtype=np.float64)[None, :], weights
    )
    used = design > 0
    observed_used = observed[0, used]
    total = float(observed_used.sum())
    expected = np.zeros(design.size)
    skipped = int(observed[0, ~used].sum())
    status: SrmStatus = "ok"
    if used.sum() < 2:
        status = "single_group"
    elif total <= 0:
        status = "no_units"
    else:
        expected[used] = total * design[used] / design[used].sum()
    if status in ("single_group", "no_units"):
        return SrmResult(
            _as_counts(counts), tuple(map(float, weights)), tuple(expected.tolist()),
            math.nan, 0, math.nan, threshold, False, skipped, status,
        )  # fmt: skip
    statistic = float(np.sum((observed_used - expected[used]) ** 2 / expected[used]))
    df = int(used.sum()) - 1
    pvalue = chi2_sf(statistic, df)
    return SrmResult(
        counts=_as_counts(counts),
        weights=tuple(map(float, weights)),
        expected=tuple(expected.tolist()),
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        threshold=threshold,
        flagged=pvalue < threshold,
        skipped_units=skipped,
        status=status,
    )


@ieee
def sequential_srm(
    cumulative_counts: Sequence[Sequence[int]],
    weights: Sequence[float],
    alpha: float = 0.05,
    concentration: float = 10_000,
) -> SequentialSrmResult:
    """Anytime-valid SRM test with a Dirichlet–multinomial Bayes factor (STATS.md §5).

    ln BF_n = ln Γ(c) − ln Γ(c + n) + Σ_g [ln Γ(c·p_g + x_g) − ln Γ(c·p_g)]
    − Σ_g x_g ln p_g for cumulative counts x (Σx = n) and design shares p; the
    multinomial coefficients cancel, and this batch form equals sequential
    conjugate updating. p_n = min(1, min_{m≤n} 1/BF_m) (Ville's inequality). A
    last look with the same counts as the one before (enrolment has ended) tests
    nothing new: status `"no_new_units"`.
    Lindon & Malek, "Anytime-Valid Inference For Multinomial Count Data", NeurIPS
    2022 (arXiv 2011.03567); GrowthBook `gbstats/ssrm.py` without the slab.

    Args:
        cumulative_counts: looks × groups, cumulative units per group at each look.
        weights: design traffic weights; weight ≤ 0 drops the group.
        alpha: flag when the p-value is ≤ alpha.
        concentration: prior concentration c; larger c expects smaller mismatches.

    Returns:
        ln BF and the running-minimum p-value per look, and the first flagged look.

    Raises:
        ConfigError: alpha or concentration is invalid.
        DataError: a row has the wrong length, or counts are negative or decrease.
    """
    if not 0 < alpha < 1 or not concentration > 0:
        raise ConfigError(
            f"sequential_srm: alpha == {alpha} must be in (0, 1) and concentration == "
            f"{concentration} must be > 0; GrowthBook uses 0.05 and 10000"
        )
    try:
        matrix = np.asarray(cumulative_counts, dtype=np.float64)
    except ValueError as error:
        raise DataError(
            "sequential_srm: cumulative_counts rows differ in length; pass one row "
            "per look with one count per variant"
        ) from error
    counts, design = _check_counts(
        matrix.reshape(0, len(weights)) if not matrix.size else matrix, weights
    )
    if counts.size and np.any(np.diff(counts, axis=0) < 0):
        raise DataError(
            "sequential_srm: cumulative_counts decrease between looks; pass running "
            "totals per group (cumulative, not daily new units)"
        )
    used = design > 0
    status: SrmStatus = "ok"
    if used.sum() < 2:
        status = "single_group"
    elif not counts[:, used].sum():
        status = "no_units"
    elif counts.shape[0] > 1 and np.array_equal(counts[-1], counts[-2]):
        status = "no_new_units"
    log_bf = (
        _log_bayes_factor(
            counts[:, used], design[used] / design[used].sum(), concentration
        )
        if status in ("ok", "no_new_units")
        else np.zeros(counts.shape[0])
    )
    pvalues = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_bf)))
    hits = np.flatnonzero(pvalues <= alpha)
    return SequentialSrmResult(
        log_bayes_factors=tuple(log_bf.tolist()),
        pvalues=tuple(pvalues.tolist()),
        alpha=alpha,
        concentration=float(concentration),
        flagged=bool(hits.size),
        first_flagged_index=int(hits[0]) if hits.size else None,
        skipped_units=int(counts[-1, ~used].sum()) if counts.size else 0,
        status=status,
    )


def _log_bayes_factor(
    counts: npt.NDArray[np.float64],
    shares: npt.NDArray[np.float64],
    concentration: float,
) -> npt.NDArray[np.float64]:
    """Dirichlet–multinomial vs multinomial ln BF per row (looks × groups)."""
    prior = concentration * shares
    n = counts.sum(axis=1)
    log_bf = (
        special.gammaln(concentration)
        - special.gammaln(concentration + n)
        + np.sum(special.gammaln(prior + counts) - special.gammaln(prior), axis=1)
        - np.sum(special.xlogy(counts, shares), axis=1)
    )
    return np.asarray(log_bf, dtype=np.float64)


def _check_counts(
    counts: npt.NDArray[np.float64], weights: Sequence[float]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    design = np.asarray(weights, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != design.size:
        raise DataError(
            f"SRM: got counts for {counts.shape[-1]} groups and {design.size} weights; "
            "pass one count and one weight per variant, in the same order"
        )
    if not (np.all(np.isfinite(counts)) and np.all(counts >= 0)):
        raise DataError("SRM: counts must be finite and ≥ 0; pass units per variant")
    if not np.all(np.isfinite(design)):
        raise DataError("SRM: weights must be finite; pass the design traffic split")
    return counts, design


def _as_counts(counts: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(c) for c in counts)
