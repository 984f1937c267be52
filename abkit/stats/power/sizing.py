"""Sample size, minimum detectable effect, power and duration (STATS.md §7).

Sizes are solved from the exact power of the z-test for the difference of arm
means, Var(Δ̂) = (1 − r)·(σ²_C/n_C + σ²_T/n_T), including the far rejection tail
of a two-sided test; a sequential design multiplies the fixed-horizon size by
`Design.inflation`.
"""

from __future__ import annotations

import math

from abkit.stats.distributions import normal_cdf, normal_ppf, normal_sf
from abkit.stats.floats import ratio, root, square, whole_count
from abkit.stats.power.design import (
    Design,
    MdeType,
    MetricModel,
    PowerResult,
    _check_positive,
)
from abkit.stats.roots import brent_root

_ROUNDING_SLACK = 1e-9  # absorbs float noise before ceil/floor of unit counts


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
        Sizes rounded up per arm, with the achieved power; a size beyond 2⁶²
        (an effect too small to detect in floating point) is capped there.
    """
    plan = design if design is not None else Design()
    delta = _absolute_mde(metric, mde, mde_type)
    if delta == 0 or not math.isfinite(delta):
        raise ValueError(f"mde == {mde}; must be a finite non-zero effect")
    _check_rate(metric, delta)
    weights = plan.arm_weights
    lam = _required_noncentrality(plan)
    n_control = max(
        ratio(
            square(lam) * _unit_variance(metric, delta, weights[0] / w, plan),
            square(delta),
        )
        for w in weights[1:]
    )
    n_control *= plan.inflation
    n_exact = tuple(n_control * w / weights[0] for w in weights)
    n_per_arm = tuple(whole_count(n - _ROUNDING_SLACK * n) for n in n_exact)
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
    n_per_arm = tuple(whole_count(n + _ROUNDING_SLACK * n, up=False) for n in n_exact)
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
        Whole days, rounded up (capped at 2⁶²).
    """
    _check_positive("daily_new_units", daily_new_units)
    if not n_required_total >= 0:
        raise ValueError(f"n_required_total == {n_required_total}; must be ≥ 0")
    days = n_required_total / daily_new_units
    return whole_count(days - _ROUNDING_SLACK * days)


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
    one_tail = z + normal_ppf(design.power)
    if design.sides == "one-sided":
        return one_tail

    def shortfall(lam: float) -> float:
        return _two_sided_power(lam, z) - design.power

    # power(0) = α/m < target ≤ power(one_tail), so the root is bracketed
    return brent_root(shortfall, 0.0, one_tail, xtol=1e-14, rtol=1e-15)


def _two_sided_power(lam: float, z: float) -> float:
    return normal_sf(z - lam) + normal_cdf(-z - lam)


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
    a = square(lam) * (1 - design.variance_reduction) / n_control
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
    delta = (-linear + root(square(linear) - 4 * quadratic * constant)) / (
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
        lam = ratio(abs(delta), root(variance))
        if design.sides == "one-sided":
            powers.append(normal_sf(z - lam))
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
