"""Inputs and result of power planning: metric variance model, design, plan.

`MetricModel` says where the per-unit variances come from (a standard deviation,
p(1 − p), or the delta-method σ²_R of a ratio metric); `Design` holds α, power,
sides, allocation, the Bonferroni family, the CUPED reduction and the sequential
inflation factor; `PowerResult` is a solved plan (STATS.md §7).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from abkit.stats.distributions import normal_isf

MetricKind = Literal["mean", "proportion", "ratio"]
MdeType = Literal["absolute", "relative"]
Sides = Literal["two-sided", "one-sided"]


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
        return normal_isf(tail)


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


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} == {value}; must be a positive finite number")
