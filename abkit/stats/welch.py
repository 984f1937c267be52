"""Two-sample tests on arm estimates: Welch t, z, and the two-proportion z-test.

Every test compares a treatment arm to the control arm from per-arm estimates
(a mean and the variance of that mean), so the same code serves plain means,
ratio metrics (delta method) and CUPED-adjusted means (STATS.md §1, §2, §3).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import stats as scipy_stats

from abkit.aggregates.moments import Moments
from abkit.stats.delta import relative_lift
from abkit.stats.estimate import ArmEstimate

__all__ = [  # ArmEstimate lives in `abkit.stats.estimate`; importable from here too
    "STATUS_MESSAGES",
    "ArmEstimate",
    "EffectResult",
    "EffectStatus",
    "TestKind",
    "critical_value",
    "proportion_ztest",
    "reference_distribution",
    "welch_df",
    "welch_test",
    "z_test",
]

TestKind = Literal["welch", "z", "two-proportion-z"]
EffectStatus = Literal[
    "ok",
    "too_few_units",
    "zero_variance",
    "zero_control_mean",
]
STATUS_MESSAGES: dict[EffectStatus, str] = {
    "ok": "",
    "too_few_units": "fewer than 2 units in an arm: no test possible",
    "zero_variance": "the metric does not vary in either arm: no test possible",
    "zero_control_mean": "control mean is 0: relative lift undefined",
}


@dataclass(frozen=True, slots=True)
class EffectResult:
    """Treatment versus control: absolute and relative effect, CI and p-value.

    The relative lift is (treatment − control) / control with a delta-method CI
    (STATS.md §1.3) at the same quantile as the absolute CI.
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


def reference_distribution(df: float) -> Any:
    """The test's reference distribution: normal for df = inf, else Student t(df)."""
    return scipy_stats.norm if math.isinf(df) else scipy_stats.t(df)


def critical_value(alpha: float, df: float) -> float:
    """The two-sided critical value q₁₋α/2 of the reference distribution."""
    return float(reference_distribution(df).ppf(1 - alpha / 2))


def welch_df(control: ArmEstimate, treatment: ArmEstimate) -> float:
    """Welch–Satterthwaite degrees of freedom (STATS.md §1.1; GB `TTest.dof`)."""
    v_c, v_t = control.mean_variance, treatment.mean_variance
    denominator = v_t**2 / (treatment.n - 1) + v_c**2 / (control.n - 1)
    return (v_t + v_c) ** 2 / denominator if denominator > 0 else math.inf


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
    control: Moments, treatment: Moments, alpha: float = 0.05
) -> EffectResult:
    """Two-proportion z-test: pooled SE for the p-value, unpooled (Wald) SE for the CI.

    The classical textbook pairing (STATS.md §1.2): the p-value equals statsmodels'
    `proportions_ztest`, the CI equals `confint_proportions_2indep(method="wald")`.
    Arm variances are p̂(1 − p̂)/n.
    """
    arms = tuple(_proportion_arm(m) for m in (control, treatment))
    control_arm, treatment_arm = arms
    degenerate = _degenerate(control_arm, treatment_arm, alpha, "two-proportion-z")
    if degenerate is not None:
        return degenerate
    result = _compare(control_arm, treatment_arm, alpha, "two-proportion-z", math.inf)
    pooled = (control.sum + treatment.sum) / (control.n + treatment.n)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n))
    statistic = result.difference / pooled_se
    pvalue = 2 * scipy_stats.norm.sf(abs(statistic))
    return dataclasses.replace(result, statistic=statistic, pvalue=float(pvalue))


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
    distribution = reference_distribution(df)
    quantile = critical_value(alpha, df)
    statistic = difference / se
    pvalue = float(2 * distribution.sf(abs(statistic)))
    lift = relative_lift(control, treatment, quantile)
    return EffectResult(
        control=control,
        treatment=treatment,
        difference=difference,
        ci_lower=difference - quantile * se,
        ci_upper=difference + quantile * se,
        relative=lift.estimate,
        relative_ci_lower=lift.ci_lower,
        relative_ci_upper=lift.ci_upper,
        statistic=statistic,
        pvalue=pvalue,
        df=df,
        alpha=alpha,
        test=test,
        status="zero_control_mean" if control.mean == 0 else "ok",
    )


def _degenerate(
    control: ArmEstimate, treatment: ArmEstimate, alpha: float, test: TestKind
) -> EffectResult | None:
    """A result with a status for inputs no test can handle; None if testable."""
    status: EffectStatus
    if min(control.n, treatment.n) < 2:
        status = "too_few_units"
    elif not control.mean_variance + treatment.mean_variance > 0:
        status = "zero_variance"
    else:
        return None
    nan = math.nan
    difference = treatment.mean - control.mean
    relative = difference / control.mean if control.mean not in (0, nan) else nan
    return EffectResult(
        control,
        treatment,
        difference,
        nan,
        nan,
        relative,
        nan,
        nan,
        nan,
        nan,
        nan,
        alpha,
        test,
        status,
    )
