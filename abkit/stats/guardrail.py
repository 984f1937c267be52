"""Guardrail metrics: a non-inferiority test of an effect against a margin.

A guardrail must not get worse by more than a tolerated margin M ≥ 0. With the
gain G = Δ (higher is better) or −Δ (lower is better), the non-inferiority
hypotheses are H₀: G ≤ −M (harmed by at least the margin) against H₁: G > −M,
tested one-sided at level α with z = (G + M)/SE (STATS.md §6: guardrails are
tested one-sided, outside the primary family; Spotify confidence treats them as
non-inferiority metrics). The caller supplies the estimate and SE from any
abkit test (Welch/z, ratio, CUPED, relative lift).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from abkit.stats.welch import reference_distribution

GuardrailStatus = Literal["harmed", "not_harmed", "inconclusive"]


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """Outcome of a guardrail's non-inferiority test.

    Attributes:
        estimate: the effect Δ̂ on its own scale (treatment − control or lift).
        standard_error: SE(Δ̂).
        margin: the tolerated harm M ≥ 0, on the same scale as the estimate.
        alpha: one-sided level of each of the two tests.
        higher_is_better: the metric's direction.
        statistic: z = (G + M)/SE, with G = Δ̂ or −Δ̂ by direction.
        pvalue: one-sided p-value of the non-inferiority test (H₀: harm ≥ M);
            the p-value of the harm test (H₀: harm ≤ M) is 1 − pvalue.
        ci_lower: lower end of the 1 − 2α two-sided interval for Δ, i.e. the
            one-sided 1 − α lower bound.
        ci_upper: upper end (the one-sided 1 − α upper bound).
        status: "not_harmed", "harmed" or "inconclusive" (see `guardrail_test`).
        worse_than_control: the effect is significantly bad at one-sided α
            (the interval lies entirely on the bad side of 0), whatever the
            margin. A harm inside the margin can be "not_harmed" and still
            worse than control.
    """

    estimate: float
    standard_error: float
    margin: float
    alpha: float
    higher_is_better: bool
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    status: GuardrailStatus
    worse_than_control: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"guardrail {self.status}: effect {self.estimate:.4g} "
            f"[{self.ci_lower:.4g}, {self.ci_upper:.4g}] vs margin {self.margin:.4g} "
            f"(non-inferiority p={self.pvalue:.3g})"
        )


def guardrail_test(
    estimate: float,
    standard_error: float,
    margin: float,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    df: float = math.inf,
) -> GuardrailResult:
    """Non-inferiority test of an effect against a harm margin, with a 3-way status.

    Rule: take the 1 − 2α two-sided interval for the gain G (its ends are the
    one-sided 1 − α bounds) and compare it with the harm threshold −M:

    - "not_harmed": the interval lies above −M, i.e. the one-sided
      non-inferiority test rejects H₀: G ≤ −M (pvalue < α). Non-inferiority shown.
    - "harmed": the interval lies below −M, i.e. the mirror one-sided test
      rejects H₀: G ≥ −M at α. The harm is significantly larger than the margin.
    - "inconclusive": the interval contains −M (too little data to tell).

    The two tests are each at level α and cannot both reject, so the statuses
    are exclusive. A significant harm smaller than the margin is "not_harmed"
    with `worse_than_control` set; the decision layer may choose to surface it.
    With margin 0, "harmed" is the one-sided test of "worse than control".

    A relative margin (e.g. "no more than 2% worse") must be converted by the
    caller to the estimate's scale: used as is when the estimate is the
    relative lift, multiplied by |control mean| for an absolute difference.

    Degenerate input (non-finite estimate, or SE not > 0) is "inconclusive"
    with NaN statistic, p-value and interval.

    Args:
        estimate: the effect Δ̂ (treatment − control, or relative lift).
        standard_error: SE(Δ̂).
        margin: tolerated harm M ≥ 0 on the estimate's scale (a size, not signed).
        alpha: one-sided level (0.05 gives a 90% two-sided interval).
        higher_is_better: True if an increase is good (harm = decrease).
        df: Student t degrees of freedom for the reference distribution (e.g.
            Welch's ν); inf (default) for the z-test.

    Returns:
        The test statistic, non-inferiority p-value, interval and status.

    Raises:
        ValueError: margin negative or not finite, or alpha not in (0, 0.5).
    """
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin == {margin}; must be a finite size ≥ 0 (not signed)")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha == {alpha}; a one-sided level must be in (0, 0.5)")
    if not (
        math.isfinite(estimate) and math.isfinite(standard_error) and standard_error > 0
    ):
        nan = math.nan
        return GuardrailResult(
            estimate, standard_error, margin, alpha, higher_is_better,
            nan, nan, nan, nan, "inconclusive", False,
        )  # fmt: skip
    distribution = reference_distribution(df)
    gain = estimate if higher_is_better else -estimate
    statistic = (gain + margin) / standard_error
    pvalue = float(distribution.sf(statistic))
    half = float(distribution.isf(alpha)) * standard_error
    gain_lower, gain_upper = gain - half, gain + half
    status: GuardrailStatus
    if gain_lower > -margin:
        status = "not_harmed"
    elif gain_upper < -margin:
        status = "harmed"
    else:
        status = "inconclusive"
    return GuardrailResult(
        estimate=estimate,
        standard_error=standard_error,
        margin=margin,
        alpha=alpha,
        higher_is_better=higher_is_better,
        statistic=statistic,
        pvalue=pvalue,
        ci_lower=estimate - half,
        ci_upper=estimate + half,
        status=status,
        worse_than_control=gain_upper < 0,
    )
