"""Multiple-testing corrections and the matching per-hypothesis levels (STATS.md §6).

Adjusted p-values for Bonferroni, Holm (1979) step-down, Hochberg (1988) step-up
and Benjamini–Hochberg (1995), with weighted Bonferroni/Holm so that a primary
metric can carry more of the family's α; Šidák, Holm–Šidák and
Benjamini–Yekutieli (2001) come from statsmodels' `multipletests`. There is no
Šidák variant of Hochberg's step-up: statsmodels has none and its error control
is not an established result, so abkit offers plain Hochberg ("simes-hochberg"
in statsmodels) only. Each correction also reports the level
each hypothesis is effectively tested at, so that reports can show adjusted
confidence intervals that agree with the decisions (`adjusted_ci`).

NaN p-values (degenerate metrics) pass through as NaN and do not count in the
family size m, so one broken metric does not blank or distort the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from abkit.stats.welch import reference_distribution

CorrectionMethod = Literal[
    "bonferroni", "holm", "hochberg", "bh", "by", "holm-sidak", "sidak", "none"
]  # fmt: skip
CORRECTION_METHODS: tuple[CorrectionMethod, ...] = (
    "bonferroni",
    "holm",
    "hochberg",
    "bh",
    "by",
    "holm-sidak",
    "sidak",
    "none",
)
STATSMODELS_NAMES: dict[CorrectionMethod, str] = {
    "by": "fdr_by",
    "holm-sidak": "holm-sidak",
    "sidak": "sidak",
}
WEIGHTED_METHODS: tuple[CorrectionMethod, ...] = ("bonferroni", "holm", "none")


@dataclass(frozen=True, slots=True)
class CorrectionResult:
    """A corrected family of hypotheses, in the order the p-values were given.

    Attributes:
        method: the correction applied.
        alpha: the family-wise error rate (FDR for "bh", "by") controlled.
        raw: the p-values as given (NaN for untestable hypotheses).
        adjusted: adjusted p-values; reject when `adjusted <= alpha`.
        rejected: the decisions.
        levels: the per-hypothesis significance level implied by the correction
            (see `adjusted_alpha_levels`); a CI at confidence 1 − level excludes
            the null exactly when the hypothesis is rejected.
    """

    method: CorrectionMethod
    alpha: float
    raw: tuple[float, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    levels: tuple[float, ...]

    @property
    def family_size(self) -> int:
        """Number of testable (non-NaN) hypotheses, the m of the correction."""
        return sum(not math.isnan(p) for p in self.raw)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self) | {"family_size": self.family_size}

    def __str__(self) -> str:
        rows = [f"{self.method} correction, alpha={self.alpha:g}, m={self.family_size}"]
        for i, (p, adj, rej, lev) in enumerate(
            zip(self.raw, self.adjusted, self.rejected, self.levels, strict=True)
        ):
            mark = "reject" if rej else "-"
            rows.append(f"  [{i}] p={p:.4g} adjusted={adj:.4g} level={lev:.4g} {mark}")
        return "\n".join(rows)


def correct_pvalues(
    pvalues: Sequence[float],
    method: CorrectionMethod = "holm",
    alpha: float = 0.05,
    *,
    weights: Sequence[float] | None = None,
) -> CorrectionResult:
    """Adjust a family of p-values and decide, with the levels for adjusted CIs.

    abkit's default family is primary metrics × non-control variants, Holm for
    decisions and BH for exploratory lists (STATS.md §6).

    Args:
        pvalues: one p-value per hypothesis; NaN marks an untestable hypothesis.
        method: the correction (see `adjust_pvalues`).
        alpha: family-wise error rate (false discovery rate for "bh", "by").
        weights: optional Bonferroni/Holm weights (see `adjust_pvalues`).

    Returns:
        The adjusted p-values, decisions (`adjusted <= alpha`) and levels.
    """
    _check_alpha(alpha)
    adjusted = adjust_pvalues(pvalues, method, weights=weights)
    rejected = tuple(bool(a <= alpha) for a in adjusted)  # NaN compares False
    levels = _levels(pvalues, method, alpha, weights, rejected)
    return CorrectionResult(
        method, alpha, tuple(map(float, pvalues)), adjusted, rejected, levels
    )


def adjust_pvalues(
    pvalues: Sequence[float],
    method: CorrectionMethod,
    *,
    weights: Sequence[float] | None = None,
) -> tuple[float, ...]:
    """Adjusted p-values for a family of hypotheses (STATS.md §6).

    With p₍₁₎ ≤ … ≤ p₍ₘ₎ the sorted non-NaN p-values:

    - bonferroni: min(1, m·pⱼ).
    - holm (Holm 1979, step-down): p̃₍ⱼ₎ = maxᵢ≤ⱼ min(1, (m − i + 1)·p₍ᵢ₎).
    - hochberg (Hochberg 1988, step-up; statsmodels "simes-hochberg"):
      p̃₍ⱼ₎ = minᵢ≥ⱼ min(1, (m − i + 1)·p₍ᵢ₎). Valid under independence/PRDS.
    - bh (Benjamini & Hochberg 1995, FDR): p̃₍ⱼ₎ = minᵢ≥ⱼ min(1, m·p₍ᵢ₎/i).
      Valid under independence/PRDS.
    - by (Benjamini & Yekutieli 2001, FDR under any dependence): BH with m
      replaced by m·Σᵢ₌₁ᵐ 1/i; statsmodels "fdr_by".
    - sidak: 1 − (1 − pⱼ)ᵐ (FWER under independence or positive orthant
      dependence); statsmodels "sidak".
    - holm-sidak (step-down): p̃₍ⱼ₎ = maxᵢ≤ⱼ 1 − (1 − p₍ᵢ₎)^(m − i + 1);
      statsmodels "holm-sidak".
    - none: the p-values unchanged.

    The last three are computed by statsmodels' `multipletests`. The others
    equal statsmodels' `multipletests` (methods "bonferroni", "holm",
    "simes-hochberg", "fdr_bh") on the non-NaN entries.

    Weighted Bonferroni and Holm (Holm 1979 gives the weighted version): weights
    wⱼ > 0 summing to the family size m split α unevenly, H_j being tested at
    wⱼ·α/m instead of α/m.
    For example `weights=(2, 0.5, 0.5)` gives the primary metric of three half
    the family's α. Weighted Bonferroni is min(1, m·pⱼ/wⱼ); weighted Holm orders
    by pⱼ/wⱼ and at step i divides by the weight still in play,
    p̃₍ⱼ₎ = maxᵢ≤ⱼ min(1, W_i·p₍ᵢ₎/w₍ᵢ₎) with W_i the sum of the weights of the
    hypotheses not yet rejected (W₁ = m). Both control the family-wise error
    rate under any dependence (weighted Holm is the closed test of weighted
    Bonferroni). The weights are rescaled to sum to the number of non-NaN
    p-values, so weights that already sum to the family size are used as given
    and a NaN p-value gives its share to the others. Equal weights reproduce
    the unweighted methods exactly.

    Args:
        pvalues: one p-value per hypothesis, in [0, 1] or NaN.
        method: one of `CORRECTION_METHODS`.
        weights: positive weights, one per p-value; only for "bonferroni",
            "holm" (and ignored by "none").

    Returns:
        Adjusted p-values in the input order; NaN where the input is NaN.

    Raises:
        ValueError: a p-value outside [0, 1], an unknown method, or invalid
            weights (wrong length, not positive and finite, or used with a
            method other than "bonferroni"/"holm").
    """
    values = _check_pvalues(pvalues)
    valid = [i for i, p in enumerate(values) if not math.isnan(p)]
    scaled = _scaled_weights(values, valid, method, weights)
    adjusted = [math.nan] * len(values)
    if method == "none":
        return tuple(values)
    if method in STATSMODELS_NAMES:
        return _statsmodels_adjusted(values, valid, method)
    if method == "bonferroni":
        m = len(valid)
        for i in valid:
            adjusted[i] = min(1.0, m * values[i] / scaled[i])
        return tuple(adjusted)
    if method == "holm":
        order = _order(values, valid, scaled)
        remaining = _remaining_weights(order, scaled)
        running = 0.0
        for step, i in enumerate(order):
            running = max(running, min(1.0, remaining[step] * values[i] / scaled[i]))
            adjusted[i] = running
        return tuple(adjusted)
    if method in ("hochberg", "bh"):
        order = _order(values, valid, scaled)
        m = len(order)
        running = 1.0
        for step in range(m - 1, -1, -1):
            i = order[step]
            rank = step + 1
            raw = (
                (m - rank + 1) * values[i]
                if method == "hochberg"
                else m * values[i] / rank
            )
            running = min(running, raw)
            adjusted[i] = max(running, values[i])  # m·p/m can round below p
        return tuple(adjusted)
    raise ValueError(f"method == {method!r}; must be one of {CORRECTION_METHODS}")


def adjusted_alpha_levels(
    pvalues: Sequence[float],
    method: CorrectionMethod,
    alpha: float = 0.05,
    *,
    weights: Sequence[float] | None = None,
) -> tuple[float, ...]:
    """Per-hypothesis significance levels implied by a correction (STATS.md §6).

    A confidence interval at confidence 1 − levelⱼ (`adjusted_ci`) then excludes
    the null value exactly when Hⱼ is rejected, so the reported intervals agree
    with the corrected decisions. With R rejections and the notation of
    `adjust_pvalues`:

    - none: α for every hypothesis.
    - bonferroni: wⱼ·α/m (α/m unweighted); simultaneous coverage 1 − α.
    - holm: the level at which each hypothesis is tested in the step-down: the
      i-th rejected one at w₍ᵢ₎·α/W_i, and every non-rejected one at
      wⱼ·α/W_{R+1}, the level of the step where the procedure stopped. For the
      non-rejected hypotheses this is the Strassburger & Bretz (2008, Stat. Med.)
      Holm-compatible interval (citation from memory); for the rejected ones it
      is decision-consistent but not a simultaneous-coverage guarantee (that
      would need the uninformative one-sided interval at the null).
    - hochberg: α/(m − R + 1) for the rejected hypotheses and α/(m − R) for the
      others (α/m when nothing is rejected): the coarsest levels consistent with
      the step-up decisions. No simultaneous-coverage claim.
    - bh: max(R, 1)·α/m for every hypothesis. For the R selected hypotheses these
      are the false-coverage-rate intervals of Benjamini & Yekutieli (2005, JASA,
      "False discovery rate–adjusted multiple confidence intervals for selected
      parameters"), FCR ≤ α; the non-selected ones get the same level for
      display (their intervals contain the null). When nothing is selected the
      level falls back to Bonferroni's α/m.
    - by: max(R, 1)·α/(m·Σᵢ₌₁ᵐ 1/i), BH's levels with BY's larger m.
    - sidak: 1 − (1 − α)^(1/m) for every hypothesis; simultaneous coverage
      1 − α under independence.
    - holm-sidak: as holm, with the Šidák level 1 − (1 − α)^(1/k) of the step
      where k hypotheses remained instead of α/k.

    Args:
        pvalues: one p-value per hypothesis, in [0, 1] or NaN.
        method: the correction.
        alpha: family-wise error rate (FDR for "bh", "by").
        weights: Bonferroni/Holm weights, as in `adjust_pvalues`.

    Returns:
        Levels in the input order; NaN where the p-value is NaN.
    """
    return correct_pvalues(pvalues, method, alpha, weights=weights).levels


def adjusted_ci(
    estimate: float, standard_error: float, level: float, *, df: float = math.inf
) -> tuple[float, float]:
    """Two-sided CI at confidence 1 − level: estimate ± q₁₋ₗₑᵥₑₗ/₂·SE.

    Use the `levels` of a `CorrectionResult` with the same reference
    distribution (normal, or Student t with `df`) that produced the p-values, so
    the interval excludes 0 exactly when the corrected test rejects (STATS.md §6;
    GB backs adjusted CIs out of adjusted p-values to the same end).

    Args:
        estimate: the effect estimate.
        standard_error: its standard error.
        level: the per-hypothesis significance level (NaN gives NaN bounds).
        df: degrees of freedom of the t reference; inf for the normal.

    Returns:
        (lower, upper).
    """
    if math.isnan(level) or not 0 < level < 1:
        return (math.nan, math.nan)
    distribution = reference_distribution(df)
    half = float(distribution.isf(level / 2)) * standard_error
    return (estimate - half, estimate + half)


def _levels(
    pvalues: Sequence[float],
    method: CorrectionMethod,
    alpha: float,
    weights: Sequence[float] | None,
    rejected: tuple[bool, ...],
) -> tuple[float, ...]:
    values = [float(p) for p in pvalues]
    valid = [i for i, p in enumerate(values) if not math.isnan(p)]
    scaled = _scaled_weights(values, valid, method, weights)
    m = len(valid)
    count = sum(rejected)
    levels = [math.nan] * len(values)
    for i in valid:
        if method == "none":
            levels[i] = alpha
        elif method == "bonferroni":
            levels[i] = alpha * scaled[i] / m
        elif method == "hochberg":
            levels[i] = alpha / (m - count + 1) if rejected[i] else alpha / (m - count)
        elif method in ("bh", "by"):
            harmonic = (
                math.fsum(1 / k for k in range(1, m + 1)) if method == "by" else 1
            )
            levels[i] = max(count, 1) * alpha / (m * harmonic)
        elif method == "sidak":
            levels[i] = sidak_level(alpha, m)
    if method == "holm-sidak":
        for step, i in enumerate(_order(values, valid, scaled)):
            levels[i] = sidak_level(alpha, m - min(step, count))
    if method == "holm":
        order = _order(values, valid, scaled)
        remaining = _remaining_weights(order, scaled)
        # rejections are the first `count` in step-down order; the rest are held
        # at the level of the step where the procedure stopped
        for step, i in enumerate(order):
            levels[i] = alpha * scaled[i] / remaining[min(step, count)]
    return tuple(levels)


def sidak_level(alpha: float, tests: int) -> float:
    """The Šidák per-test level 1 − (1 − α)^(1/k) for k tests, without cancellation."""
    return -math.expm1(math.log1p(-alpha) / tests)


def _statsmodels_adjusted(
    values: list[float], valid: list[int], method: CorrectionMethod
) -> tuple[float, ...]:
    """Adjusted p-values of the non-NaN entries from statsmodels' `multipletests`."""
    adjusted = [math.nan] * len(values)
    if not valid:
        return tuple(adjusted)
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    with np.errstate(divide="ignore"):  # log1p(−1) = −inf at p = 1 is exact here
        chosen = [values[i] for i in valid]
        corrected = multipletests(chosen, method=STATSMODELS_NAMES[method])[1]
    for i, p in zip(valid, corrected, strict=True):
        adjusted[i] = float(p)
    return tuple(adjusted)


def _order(values: list[float], valid: list[int], scaled: list[float]) -> list[int]:
    """Indices of the non-NaN p-values by increasing p/w (ties keep input order)."""
    return sorted(valid, key=lambda i: values[i] / scaled[i])


def _remaining_weights(order: list[int], scaled: list[float]) -> list[float]:
    """W_i = weight of the hypotheses at step i and after (W₁ = m); W_{m+1} = 0."""
    return [
        math.fsum(scaled[i] for i in order[step:]) for step in range(len(order) + 1)
    ]


def _check_pvalues(pvalues: Sequence[float]) -> list[float]:
    values = [float(p) for p in pvalues]
    for i, p in enumerate(values):
        if not (math.isnan(p) or 0.0 <= p <= 1.0):
            raise ValueError(f"pvalues[{i}] == {p}; must be in [0, 1] or NaN")
    return values


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha == {alpha}; must be in (0, 1)")


def _scaled_weights(
    values: list[float],
    valid: list[int],
    method: CorrectionMethod,
    weights: Sequence[float] | None,
) -> list[float]:
    """Weights rescaled to sum to m over the non-NaN p-values (all 1 if None)."""
    if weights is None:
        return [1.0] * len(values)
    if method not in WEIGHTED_METHODS:
        raise ValueError(
            f"weights are supported for 'bonferroni' and 'holm' only, not {method!r}; "
            "drop the weights or use method='holm'"
        )
    given = [float(w) for w in weights]
    if len(given) != len(values):
        raise ValueError(
            f"len(weights) == {len(given)}; must equal len(pvalues) == {len(values)}"
        )
    if not all(math.isfinite(w) and w > 0 for w in given):
        raise ValueError(f"weights == {given}; must all be positive and finite")
    total = math.fsum(given[i] for i in valid)
    factor = len(valid) / total if valid else 1.0
    return [w * factor for w in given]
