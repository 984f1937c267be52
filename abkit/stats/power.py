"""Power, sample size and minimum detectable effect, fixed horizon (STATS.md §7).

Everything reduces to one normal-theory relation for the difference of arm
means: Var(Δ̂) = (1 − r)·(σ²_C/n_C + σ²_T/n_T), with r the CUPED variance
reduction, and the test rejects when |Δ̂|/SE(Δ̂) exceeds z at level α/m. The
metric kind only decides where the per-unit variances come from (`MetricModel`):
a standard deviation for means, p(1 − p) for proportions, the delta-method
σ²_R for ratio metrics (STATS.md §2; the caller computes it from historical
sums). The design (`Design`) holds α, power, sides, allocation, the Bonferroni
family, CUPED and a sequential inflation factor.

Sizes are solved from the exact power of the z-test, including the far
rejection tail of a two-sided test, so they equal statsmodels'
`NormalIndPower().solve_power`. The textbook closed form
n = (z₁₋α/₂ + z_power)²·(σ²_C + σ²_T/k)/δ² drops that tail (at α = 0.05 and 80%
power it is larger by about 3·10⁻⁶ relative). abkit analyses fixed-horizon tests
with Welch t; at A/B sizes t and z coincide (STATS.md §1.1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import optimize
from scipy import stats as scipy_stats

MetricKind = Literal["mean", "proportion", "ratio"]
MdeType = Literal["absolute", "relative"]
Sides = Literal["two-sided", "one-sided"]

_ROUNDING_SLACK = 1e-9  # absorbs float noise before ceil/floor of unit counts


@dataclass(frozen=True, slots=True)
class MetricModel:
    """Per-unit variance model of one metric in the control and treatment arms.

    Build it with `MetricModel.mean`, `.proportion` or `.ratio`.

    Attributes:
        kind: "mean", "proportion" or "ratio".
        baseline: the control mean (proportion, ratio); needed for a relative MDE
            and for proportions, NaN if unknown.
        variance_control: per-unit variance in control (σ², p(1 − p) or σ²_R).
        variance_treatment: per-unit variance in treatment; None for proportions,
            where it is p_T(1 − p_T) at the alternative p_T = p + δ.
    """

    kind: MetricKind
    baseline: float
    variance_control: float
    variance_treatment: float | None

    @classmethod
    def mean(
        cls,
        std: float,
        *,
        baseline: float = math.nan,
        std_treatment: float | None = None,
    ) -> MetricModel:
        """A per-unit mean metric with standard deviation σ (per arm or common).

        Args:
            std: per-unit standard deviation in control (and treatment, unless
                `std_treatment` is given).
            baseline: control mean, needed for a relative MDE.
            std_treatment: per-unit standard deviation in treatment.
        """
        other = std if std_treatment is None else std_treatment
        _check_positive("std", std)
        _check_positive("std_treatment", other)
        return cls("mean", baseline, std * std, other * other)

    @classmethod
    def proportion(cls, baseline: float) -> MetricModel:
        """A 0/1 metric with control rate p: σ²_C = p(1 − p), σ²_T = p_T(1 − p_T).

        The unpooled (Wald) variance under the alternative, as in abkit's CI and
        GB's test (STATS.md §1.2, §7).

        Args:
            baseline: control conversion rate p, in (0, 1).
        """
        if not 0 < baseline < 1:
            raise ValueError(f"baseline == {baseline}; a proportion must be in (0, 1)")
        return cls("proportion", baseline, baseline * (1 - baseline), None)

    @classmethod
    def ratio(
        cls,
        variance: float,
        *,
        baseline: float = math.nan,
        variance_treatment: float | None = None,
    ) -> MetricModel:
        """A ratio metric Σm/Σd per randomization unit, n counted in units.

        Args:
            variance: the per-unit delta-method variance σ²_R =
                (s²_m − 2R s_md + R² s²_d)/d̄² of the control ratio (STATS.md §2),
                so that Var(R̂) = σ²_R/n; computed by the caller.
            baseline: the control ratio R, needed for a relative MDE.
            variance_treatment: σ²_R in treatment, if different.
        """
        other = variance if variance_treatment is None else variance_treatment
        _check_positive("variance", variance)
        _check_positive("variance_treatment", other)
        return cls("ratio", baseline, variance, other)

    def treatment_variance(self, delta: float) -> float:
        """Per-unit treatment variance when the true effect is `delta`."""
        if self.variance_treatment is not None:
            return self.variance_treatment
        rate = self.baseline + delta
        return rate * (1 - rate)


@dataclass(frozen=True, slots=True)
class Design:
    """The test design: error rates, allocation, family, CUPED, sequential inflation.

    Attributes:
        alpha: family-wise significance level.
        power: target power of each treatment-versus-control comparison.
        sides: "two-sided", or "one-sided" in the direction of the effect.
        ratio: allocation n_T/n_C for a two-arm test (ignored with `weights`).
        weights: traffic weights, control first, for one or more treatment arms,
            e.g. (2, 1, 1); they override `ratio`.
        comparisons: Bonferroni family size m (each comparison tested at α/m);
            None means one per treatment arm. Pass arms × metrics for a family
            of several primary metrics.
        variance_reduction: CUPED reduction r of the variance: ρ² for one
            covariate, R² for several, or an observed 1 − Var_adj/Var
            (STATS.md §3.1); both arm variances are multiplied by 1 − r.
        inflation: sequential sample-size inflation factor (≥ 1) from
            `abkit.stats.sequential` (e.g. 1.025–1.038 for LD O'Brien–Fleming-like
            spending with 5 looks, ≈1.91 for an asymptotic CS read once at N*;
            STATS.md §7).
    """

    alpha: float = 0.05
    power: float = 0.8
    sides: Sides = "two-sided"
    ratio: float = 1.0
    weights: tuple[float, ...] | None = None
    comparisons: int | None = None
    variance_reduction: float = 0.0
    inflation: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha == {self.alpha}; must be in (0, 1)")
        if self.sides not in ("two-sided", "one-sided"):
            raise ValueError(
                f"sides == {self.sides!r}; must be 'two-sided' or 'one-sided'"
            )
        _check_positive("ratio", self.ratio)
        if self.weights is not None and (
            len(self.weights) < 2
            or not all(math.isfinite(w) and w > 0 for w in self.weights)
        ):
            raise ValueError(
                f"weights == {self.weights}; need a control and at least one treatment "
                "weight, all positive"
            )
        if self.comparisons is not None and self.comparisons < 1:
            raise ValueError(f"comparisons == {self.comparisons}; must be at least 1")
        if not 0 <= self.variance_reduction < 1:
            raise ValueError(
                f"variance_reduction == {self.variance_reduction}; must be in [0, 1) "
                "(pass rho**2, not rho)"
            )
        if not (math.isfinite(self.inflation) and self.inflation >= 1):
            raise ValueError(
                f"inflation == {self.inflation}; must be a finite number ≥ 1"
            )
        if not self.alpha_per_comparison < self.power < 1:
            raise ValueError(
                f"power == {self.power}; must be in (alpha/m, 1) = "
                f"({self.alpha_per_comparison:g}, 1)"
            )

    @property
    def arm_weights(self) -> tuple[float, ...]:
        """Traffic weights, control first: `weights`, or (1, ratio)."""
        return self.weights if self.weights is not None else (1.0, self.ratio)

    @property
    def family_size(self) -> int:
        """The Bonferroni m: `comparisons`, or the number of treatment arms."""
        arms = len(self.arm_weights) - 1
        return self.comparisons if self.comparisons is not None else arms

    @property
    def alpha_per_comparison(self) -> float:
        """α/m, the level of each treatment-versus-control test."""
        return self.alpha / self.family_size

    @property
    def critical_value(self) -> float:
        """z₁₋α/(2m) two-sided, z₁₋α/m one-sided."""
        tail = self.alpha_per_comparison / (2 if self.sides == "two-sided" else 1)
        return float(scipy_stats.norm.isf(tail))


@dataclass(frozen=True, slots=True)
class PowerResult:
    """A planned (or budgeted) experiment: sizes, MDE and power, inputs echoed.

    Attributes:
        metric: the variance model.
        design: the design.
        mde: the minimum detectable effect on the `mde_type` scale.
        mde_type: "absolute" or "relative" (δ = mde·baseline).
        mde_absolute: the MDE as a difference of means, δ.
        n_exact: unrounded per-arm sizes, control first.
        n_per_arm: per-arm unit counts, control first (rounded up when solving
            for size, down when the size is a given budget).
        n_total: sum of `n_per_arm`.
        achieved_power: the power at `n_per_arm` of the weakest comparison.
    """

    metric: MetricModel
    design: Design
    mde: float
    mde_type: MdeType
    mde_absolute: float
    n_exact: tuple[float, ...]
    n_per_arm: tuple[int, ...]
    n_total: int
    achieved_power: float

    def to_dict(self) -> dict[str, Any]:
        """Flat dict (metric_* and design_* prefixes) for JSON and data frames."""
        data = asdict(self)
        metric, design = data.pop("metric"), data.pop("design")
        data |= {f"metric_{k}": v for k, v in metric.items()}
        data |= {f"design_{k}": v for k, v in design.items()}
        data["design_alpha_per_comparison"] = self.design.alpha_per_comparison
        return data

    def __str__(self) -> str:
        arms = ", ".join(f"{n:,}" for n in self.n_per_arm)
        return (
            f"{self.metric.kind} metric: MDE {self.mde:.4g} ({self.mde_type}) at "
            f"alpha={self.design.alpha:g} (per comparison "
            f"{self.design.alpha_per_comparison:.3g}), "
            f"power={self.achieved_power:.3f}: "
            f"n per arm [{arms}], total {self.n_total:,}"
        )


def sample_size(
    metric: MetricModel,
    mde: float,
    *,
    mde_type: MdeType = "absolute",
    design: Design | None = None,
) -> PowerResult:
    """Per-arm sample sizes that detect `mde` with the design's power (STATS.md §7).

    For each treatment arm j with k_j = w_j/w_C, the control size solves
    power(λ) = target with λ = |δ|/SE, SE² = (1 − r)(σ²_C + σ²_T/k_j)/n_C, i.e.
    n_C = λ²·(1 − r)·(σ²_C + σ²_T/k_j)/δ² × inflation; n_C is the largest over
    arms and the other arms follow the weights. Means: the standard two-sample
    formula (GB power-technical.mdx); proportions: σ²_T = p_T(1 − p_T).

    Relative MDE: δ = mde·μ_C, i.e. planning for abkit's test of the absolute
    difference with the lift as a reparametrised effect size. GB instead plans
    for its delta-method relative test, whose variance has the extra factor
    (1 + lift)² on the control term (STATS.md §1.3) and solves a quadratic in
    the lift; its n is larger by about lift·σ²_C/(σ²_C + σ²_T/k), e.g. ≈5% for a
    5% lift at equal split.

    Args:
        metric: the variance model.
        mde: the effect to detect, absolute (δ) or relative (lift); non-zero.
            For proportions the sign matters (p_T = p + δ).
        mde_type: "absolute" or "relative".
        design: the design (default `Design()`: α = 0.05 two-sided, 80%, 50/50).

    Returns:
        Sizes rounded up per arm, with the achieved power.
    """
    plan = design if design is not None else Design()
    delta = _absolute_mde(metric, mde, mde_type)
    if delta == 0 or not math.isfinite(delta):
        raise ValueError(f"mde == {mde}; must be a finite non-zero effect")
    _check_rate(metric, delta)
    weights = plan.arm_weights
    lam = _required_noncentrality(plan)
    n_control = max(
        lam**2 * _unit_variance(metric, delta, weights[0] / w, plan) / delta**2
        for w in weights[1:]
    )
    n_control *= plan.inflation
    n_exact = tuple(n_control * w / weights[0] for w in weights)
    n_per_arm = tuple(math.ceil(n - _ROUNDING_SLACK * n) for n in n_exact)
    return _result(
        metric,
        plan,
        mde=mde,
        mde_type=mde_type,
        delta=delta,
        n_exact=n_exact,
        n_per_arm=n_per_arm,
    )


def minimum_detectable_effect(
    metric: MetricModel,
    n_control: float,
    *,
    mde_type: MdeType = "absolute",
    design: Design | None = None,
) -> PowerResult:
    """The smallest effect detected with the design's power at a size (STATS.md §7).

    Means and ratios: δ = λ·SE with SE from the sizes (GB's MDE = σ_Δ(z_α + z_β)
    up to the far tail). Proportions: the positive root of
    δ² = a·(σ²_C + (p + δ)(1 − p − δ)/k), a = λ²(1 − r)/n_C, an increase over the
    baseline (NaN if no p_T ≤ 1 is detectable). With several treatment arms the
    MDE is the largest over the comparisons. A relative MDE is δ/|μ_C|.

    Args:
        metric: the variance model.
        n_control: control-arm size; the other arms follow the design's weights.
            With a sequential inflation the fixed-horizon equivalent size is
            n_control/inflation.
        mde_type: scale of the returned MDE.
        design: the design.

    Returns:
        The MDE, with n_per_arm rounded down from the (possibly fractional) sizes.
    """
    plan = design if design is not None else Design()
    _check_positive("n_control", n_control)
    weights = plan.arm_weights
    lam = _required_noncentrality(plan)
    effective = n_control / plan.inflation
    delta = max(
        _arm_mde(metric, effective, weights[0] / w, lam, plan) for w in weights[1:]
    )
    mde = delta if mde_type == "absolute" else delta / abs(_baseline(metric))
    n_exact = tuple(n_control * w / weights[0] for w in weights)
    n_per_arm = tuple(math.floor(n + _ROUNDING_SLACK * n) for n in n_exact)
    return _result(
        metric,
        plan,
        mde=mde,
        mde_type=mde_type,
        delta=delta,
        n_exact=n_exact,
        n_per_arm=n_per_arm,
    )


def power_at(
    metric: MetricModel,
    n_control: float,
    mde: float,
    *,
    mde_type: MdeType = "absolute",
    design: Design | None = None,
) -> float:
    """Power of the z-test at a given size (GB power-technical.mdx eq. 2; STATS.md §7).

    π = Φ(λ − z) + Φ(−λ − z) two-sided (Φ(λ − z) one-sided), λ = |δ|/SE, z at
    α/m. With several treatment arms, the power of the weakest comparison. The
    design's `power` is not used; a sequential inflation divides the size.

    Args:
        metric: the variance model.
        n_control: control-arm size; the other arms follow the design's weights.
        mde: the true effect, absolute or relative.
        mde_type: "absolute" or "relative".
        design: the design.

    Returns:
        The power, in [α/m, 1).
    """
    plan = design if design is not None else Design()
    _check_positive("n_control", n_control)
    delta = _absolute_mde(metric, mde, mde_type)
    _check_rate(metric, delta)
    weights = plan.arm_weights
    sizes = tuple(n_control * w / weights[0] for w in weights)
    return _power_for_sizes(metric, delta, sizes, plan)


def duration_days(n_required_total: float, daily_new_units: float) -> int:
    """Days needed to enrol `n_required_total` units at `daily_new_units` a day.

    Args:
        n_required_total: total units over all arms (`PowerResult.n_total`).
        daily_new_units: new unique units entering the experiment per day (all
            arms); returning units do not add sample.

    Returns:
        Whole days, rounded up.
    """
    _check_positive("daily_new_units", daily_new_units)
    if not n_required_total >= 0:
        raise ValueError(f"n_required_total == {n_required_total}; must be ≥ 0")
    days = n_required_total / daily_new_units
    return math.ceil(days - _ROUNDING_SLACK * days)


def mde_for_duration(
    metric: MetricModel,
    days: float,
    daily_new_units: float,
    *,
    mde_type: MdeType = "absolute",
    design: Design | None = None,
) -> PowerResult:
    """The MDE reachable in `days` at `daily_new_units` new units a day (all arms).

    The total days × daily_new_units is split by the design's weights and passed
    to `minimum_detectable_effect`.

    Args:
        metric: the variance model.
        days: experiment length in days.
        daily_new_units: new unique units per day, all arms together.
        mde_type: scale of the returned MDE.
        design: the design.

    Returns:
        The MDE and the sizes reached.
    """
    plan = design if design is not None else Design()
    _check_positive("days", days)
    _check_positive("daily_new_units", daily_new_units)
    weights = plan.arm_weights
    n_control = days * daily_new_units * weights[0] / math.fsum(weights)
    return minimum_detectable_effect(metric, n_control, mde_type=mde_type, design=plan)


def _required_noncentrality(design: Design) -> float:
    """λ = |δ|/SE at which the z-test reaches the target power (exact, both tails)."""
    z = design.critical_value
    one_tail = z + float(scipy_stats.norm.ppf(design.power))
    if design.sides == "one-sided":
        return one_tail

    def shortfall(lam: float) -> float:
        return _two_sided_power(lam, z) - design.power

    # power(0) = α/m < target ≤ power(one_tail), so the root is bracketed
    return float(optimize.brentq(shortfall, 0.0, one_tail, xtol=1e-14, rtol=1e-15))


def _two_sided_power(lam: float, z: float) -> float:
    return float(scipy_stats.norm.sf(z - lam) + scipy_stats.norm.cdf(-z - lam))


def _unit_variance(
    metric: MetricModel, delta: float, control_per_treatment: float, design: Design
) -> float:
    """n_C·Var(Δ̂) = (1 − r)(σ²_C + σ²_T·n_C/n_T)."""
    total = (
        metric.variance_control
        + metric.treatment_variance(delta) * control_per_treatment
    )
    return (1 - design.variance_reduction) * total


def _arm_mde(
    metric: MetricModel,
    n_control: float,
    control_per_treatment: float,
    lam: float,
    design: Design,
) -> float:
    a = lam**2 * (1 - design.variance_reduction) / n_control
    if metric.variance_treatment is not None:
        return math.sqrt(
            a
            * (
                metric.variance_control
                + metric.variance_treatment * control_per_treatment
            )
        )
    # proportions: δ² = a(σ²_C + c(p + δ)(1 − p − δ)), c = n_C/n_T, a quadratic in δ
    p, c = metric.baseline, control_per_treatment
    quadratic = 1 + a * c
    linear = -a * c * (1 - 2 * p)
    constant = -a * (metric.variance_control + c * p * (1 - p))
    delta = (-linear + math.sqrt(linear**2 - 4 * quadratic * constant)) / (
        2 * quadratic
    )
    return delta if p + delta < 1 else math.nan


def _power_for_sizes(
    metric: MetricModel, delta: float, sizes: tuple[float, ...], design: Design
) -> float:
    """Power of the weakest treatment-versus-control comparison at these sizes."""
    z = design.critical_value
    effective = [n / design.inflation for n in sizes]
    powers = []
    for n_treatment in effective[1:]:
        variance = (1 - design.variance_reduction) * (
            metric.variance_control / effective[0]
            + metric.treatment_variance(delta) / n_treatment
        )
        lam = abs(delta) / math.sqrt(variance)
        if design.sides == "one-sided":
            powers.append(float(scipy_stats.norm.sf(z - lam)))
        else:
            powers.append(_two_sided_power(lam, z))
    return min(powers)


def _result(
    metric: MetricModel,
    design: Design,
    *,
    mde: float,
    mde_type: MdeType,
    delta: float,
    n_exact: tuple[float, ...],
    n_per_arm: tuple[int, ...],
) -> PowerResult:
    if math.isnan(delta) or min(n_per_arm) < 1:
        achieved = math.nan
    else:
        achieved = _power_for_sizes(metric, delta, tuple(map(float, n_per_arm)), design)
    return PowerResult(
        metric=metric,
        design=design,
        mde=mde,
        mde_type=mde_type,
        mde_absolute=delta,
        n_exact=n_exact,
        n_per_arm=n_per_arm,
        n_total=sum(n_per_arm),
        achieved_power=achieved,
    )


def _absolute_mde(metric: MetricModel, mde: float, mde_type: MdeType) -> float:
    if mde_type == "absolute":
        return mde
    if mde_type == "relative":
        return mde * _baseline(metric)
    raise ValueError(f"mde_type == {mde_type!r}; must be 'absolute' or 'relative'")


def _baseline(metric: MetricModel) -> float:
    if not math.isfinite(metric.baseline) or metric.baseline == 0:
        raise ValueError(
            f"baseline == {metric.baseline}; a relative MDE needs a finite non-zero "
            "control mean: pass baseline= to MetricModel"
        )
    return metric.baseline


def _check_rate(metric: MetricModel, delta: float) -> None:
    if metric.kind == "proportion" and not 0 < metric.baseline + delta < 1:
        raise ValueError(
            f"baseline + mde == {metric.baseline + delta}; the treatment proportion "
            "must be in (0, 1)"
        )


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} == {value}; must be a positive finite number")
