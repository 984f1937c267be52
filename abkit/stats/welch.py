"""Two-sample tests on arm estimates: Welch t, z, and the two-proportion z-test.

Every test compares a treatment arm to the control arm from per-arm estimates
(a mean and the variance of that mean), so the same code serves plain means,
ratio metrics (delta method) and CUPED-adjusted means (STATS.md §1, §2, §3).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from abkit.aggregates.moments import Moments
from abkit.stats.delta import UNDEFINED_LIFT, RelativeLift, relative_lift
from abkit.stats.distributions import Reference, normal_sf
from abkit.stats.estimate import ArmEstimate
from abkit.stats.status import STATUS_MESSAGES, EffectStatus, proportion_consistent

__all__ = [  # ArmEstimate lives in `abkit.stats.estimate`; importable from here too
    "STATUS_MESSAGES",
    "ArmEstimate",
    "EffectResult",
    "EffectStatus",
    "TestKind",
    "critical_value",
    "proportion_ztest",
    "reference_distribution",
    "untestable",
    "welch_df",
    "welch_test",
    "z_test",
]

TestKind = Literal[
    "welch",
    "z",
    "two-proportion-z",
    "two-proportion-z-yates",
    "fisher-exact",
    "boschloo-exact",
    "barnard-exact",
]


@dataclass(frozen=True, slots=True)
class EffectResult:
    """Treatment versus control: absolute and relative effect, CI and p-value.

    The relative lift is (treatment − control) / |control| with a delta-method CI
    (STATS.md §1.3) at the same quantile as the absolute CI; its sign is the sign
    of the difference. `test` names the test that produced the p-value.
    """

    control: ArmEstimate
    treatment: ArmEstimate
    difference: float
    ci_lower: float
    ci_upper: float
    relative: float
    relative_ci_lower: float
    relative_ci_upper: float
    statistic: float
    pvalue: float
    df: float
    alpha: float
    test: TestKind
    status: EffectStatus

    @property
    def standard_error(self) -> float:
        """Standard error of the absolute difference."""
        return math.sqrt(self.control.mean_variance + self.treatment.mean_variance)

    @property
    def significant(self) -> bool:
        """Whether the two-sided test rejects at `alpha`."""
        return bool(self.pvalue < self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (nested arms flattened) for JSON and data frames."""
        data = asdict(self)
        control, treatment = data.pop("control"), data.pop("treatment")
        data |= {f"control_{k}": v for k, v in control.items()}
        data |= {f"treatment_{k}": v for k, v in treatment.items()}
        return data


def reference_distribution(df: float) -> Reference:
    """The test's reference distribution: normal for df = inf, else Student t(df)."""
    return Reference(df)


def critical_value(alpha: float, df: float) -> float:
    """The two-sided critical value q₁₋α/2 of the reference distribution."""
    return float(reference_distribution(df).ppf(1 - alpha / 2))


def welch_df(control: ArmEstimate, treatment: ArmEstimate) -> float:
    """Welch–Satterthwaite degrees of freedom (STATS.md §1.1; GB `TTest.dof`)."""
    v_c, v_t = control.mean_variance, treatment.mean_variance
    total = v_c + v_t
    if not (total > 0 and math.isfinite(total)):
        return math.inf
    share_c, share_t = v_c / total, v_t / total  # scaled: no overflow of v²
    return 1 / (
        share_t * share_t / (treatment.n - 1) + share_c * share_c / (control.n - 1)
    )


def welch_test(
    control: ArmEstimate, treatment: ArmEstimate, alpha: float = 0.05
) -> EffectResult:
    """Welch t-test of treatment − control with Welch–Satterthwaite df (STATS.md §1.1).

    Matches `scipy.stats.ttest_ind(equal_var=False)` on the underlying units.
    """
    degenerate = _degenerate(control, treatment, alpha, "welch")
    if degenerate is not None:
        return degenerate
    df = welch_df(control, treatment)
    return _compare(control, treatment, alpha, "welch", df)


def z_test(
    control: ArmEstimate, treatment: ArmEstimate, alpha: float = 0.05
) -> EffectResult:
    """Normal-theory test of treatment − control (ratio metrics, sequential looks)."""
    degenerate = _degenerate(control, treatment, alpha, "z")
    if degenerate is not None:
        return degenerate
    return _compare(control, treatment, alpha, "z", math.inf)


def proportion_ztest(
    control: Moments,
    treatment: Moments,
    alpha: float = 0.05,
    *,
    continuity: bool = False,
) -> EffectResult:
    """Two-proportion z-test: pooled SE for the p-value, unpooled (Wald) SE for the CI.

    The classical textbook pairing (STATS.md §1.2): the p-value equals statsmodels'
    `proportions_ztest` and `scipy.stats.chi2_contingency(correction=False)`, the CI
    equals `confint_proportions_2indep(method="wald")`. Arm variances are
    p̂(1 − p̂)/n. The test is defined whenever the pooled proportion is strictly
    between 0 and 1, so 0/10 against 10/10 is tested (z = 4.47); when the Wald SE
    is 0 there (both arms constant) the CI is Newcombe's hybrid score interval.

    Args:
        control: moments of the control arm's 0/1 values.
        treatment: moments of the treatment arm's 0/1 values.
        alpha: two-sided level.
        continuity: apply Yates' continuity correction to the statistic
            (|Δ| − ½(1/n_C + 1/n_T)), as `chi2_contingency(correction=True)`.
    """
    test: TestKind = "two-proportion-z-yates" if continuity else "two-proportion-z"
    arms = (_proportion_arm(control), _proportion_arm(treatment))
    if not (proportion_consistent(control) and proportion_consistent(treatment)):
        return untestable(*arms, alpha, test, "inconsistent")
    if min(control.n, treatment.n) < 2:
        return untestable(*arms, alpha, test, "too_few_units")
    pooled = (control.sum + treatment.sum) / (control.n + treatment.n)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n))
    if not pooled_se > 0:
        return untestable(*arms, alpha, test, "zero_variance")
    difference = arms[1].mean - arms[0].mean
    shift = 0.5 * (1 / control.n + 1 / treatment.n) if continuity else 0.0
    statistic = math.copysign(max(abs(difference) - shift, 0.0), difference) / pooled_se
    pvalue = 2 * normal_sf(abs(statistic))
    quantile = critical_value(alpha, math.inf)
    se = math.sqrt(arms[0].mean_variance + arms[1].mean_variance)
    if se > 0:
        ci = (difference - quantile * se, difference + quantile * se)
        lift = relative_lift(*arms, quantile)
    else:
        ci = newcombe_interval(control, treatment, alpha)
        lift = _scaled_lift(arms[0].mean, difference, ci)
    return _result(arms, alpha, test, math.inf, (statistic, pvalue), ci, lift)


def newcombe_interval(
    control: Moments, treatment: Moments, alpha: float
) -> tuple[float, float]:
    """Newcombe's (1998) hybrid score CI for p_T − p_C from two Wilson intervals.

    Equals statsmodels' `confint_proportions_2indep(method="newcomb")`; unlike the
    Wald interval it has a width when an arm's proportion is 0 or 1.
    """
    quantile = critical_value(alpha, math.inf)
    p_c, low_c, high_c = _wilson(control, quantile)
    p_t, low_t, high_t = _wilson(treatment, quantile)
    difference = p_t - p_c
    lower = difference - math.hypot(p_t - low_t, high_c - p_c)
    upper = difference + math.hypot(high_t - p_t, p_c - low_c)
    return lower, upper


def _wilson(moments: Moments, quantile: float) -> tuple[float, float, float]:
    """The proportion and its Wilson score interval."""
    n, p = moments.n, moments.sum / moments.n
    q2 = quantile * quantile
    centre = (p + q2 / (2 * n)) / (1 + q2 / n)
    half = quantile * math.sqrt(p * (1 - p) / n + q2 / (4 * n * n)) / (1 + q2 / n)
    return p, centre - half, centre + half


def _scaled_lift(
    control_mean: float, difference: float, ci: tuple[float, float]
) -> RelativeLift:
    """A lift and CI as the difference and its CI over |control| (fixed control)."""
    scale = abs(control_mean)
    if not scale > 0:
        return UNDEFINED_LIFT
    return RelativeLift(difference / scale, math.nan, ci[0] / scale, ci[1] / scale)


def _proportion_arm(moments: Moments) -> ArmEstimate:
    p = moments.mean
    variance = p * (1 - p) / moments.n if moments.n > 0 else math.nan
    return ArmEstimate(moments.n, p, variance)


def _compare(
    control: ArmEstimate,
    treatment: ArmEstimate,
    alpha: float,
    test: TestKind,
    df: float,
) -> EffectResult:
    difference = treatment.mean - control.mean
    se = math.sqrt(control.mean_variance + treatment.mean_variance)
    if not (math.isfinite(difference) and math.isfinite(se)):
        return untestable(control, treatment, alpha, test, "overflow")
    quantile = critical_value(alpha, df)
    statistic = difference / se
    pvalue = float(2 * reference_distribution(df).sf(abs(statistic)))
    ci = (difference - quantile * se, difference + quantile * se)
    lift = relative_lift(control, treatment, quantile)
    return _result((control, treatment), alpha, test, df, (statistic, pvalue), ci, lift)


def _result(
    arms: tuple[ArmEstimate, ArmEstimate],
    alpha: float,
    test: TestKind,
    df: float,
    tested: tuple[float, float],
    ci: tuple[float, float],
    lift: RelativeLift,
) -> EffectResult:
    """Assemble a tested result; the status says whether the lift is defined."""
    control, treatment = arms
    return EffectResult(
        control=control,
        treatment=treatment,
        difference=treatment.mean - control.mean,
        ci_lower=ci[0],
        ci_upper=ci[1],
        relative=lift.estimate,
        relative_ci_lower=lift.ci_lower,
        relative_ci_upper=lift.ci_upper,
        statistic=tested[0],
        pvalue=tested[1],
        df=df,
        alpha=alpha,
        test=test,
        status="ok" if lift.status == "ok" else "zero_control_mean",
    )


def _degenerate(
    control: ArmEstimate, treatment: ArmEstimate, alpha: float, test: TestKind
) -> EffectResult | None:
    """A result with a status for inputs no test can handle; None if testable."""
    status = _untestable_status(control, treatment)
    return (
        None if status is None else untestable(control, treatment, alpha, test, status)
    )


def _untestable_status(
    control: ArmEstimate, treatment: ArmEstimate
) -> EffectStatus | None:
    """Why two arm estimates cannot be compared, or None when they can."""
    if not (control.consistent and treatment.consistent):
        return "inconsistent"
    if min(control.n, treatment.n) < 2:
        return "too_few_units"
    means = (control.mean, treatment.mean)
    total = control.mean_variance + treatment.mean_variance
    if any(math.isnan(m) for m in means):
        return "zero_variance"  # an undefined arm estimate (e.g. a ratio over 0)
    if any(math.isinf(m) for m in means) or not math.isfinite(total):
        return "overflow"  # e.g. Σy² − (Σy)²/n overflowed
    if not total > 0:
        return "zero_variance"
    return None


def untestable(
    control: ArmEstimate,
    treatment: ArmEstimate,
    alpha: float,
    test: TestKind,
    status: EffectStatus,
) -> EffectResult:
    """A result that carries only a status: no statistic, p-value or interval.

    The difference and the relative lift are kept where they are defined, so
    reports can still show what was observed.
    """
    nan = math.nan
    difference = treatment.mean - control.mean
    scale = abs(control.mean)
    relative = difference / scale if math.isfinite(scale) and scale > 0 else nan
    return EffectResult(
        control, treatment, difference, nan, nan, relative, nan, nan,
        nan, nan, nan, alpha, test, status,
    )  # fmt: skip
