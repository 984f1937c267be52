"""The CUPED result type, status codes and the helpers all adjustments share.

Conventions common to every adjustment (centring on the pooled covariate mean,
θ treated as known, degenerate inputs giving θ = 0) are described in the package
docstring of `abkit.stats.cuped` (STATS.md §3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from abkit.aggregates.moments import JointMoments
from abkit.errors import ConfigError, DataError
from abkit.stats.estimate import ArmEstimate

FloatArray = npt.NDArray[np.float64]

ThetaMethod = Literal["pooled", "lin"]
ThetaSource = Literal["pooled", "lin", "min-variance", "fixed"]
AdjustmentKind = Literal["mean", "ratio"]
CupedStatus = Literal[
    "ok",
    "too_few_units",
    "zero_variance",
    "constant_covariate",
    "collinear_covariates",
    "zero_denominator",
    "zero_pre_denominator",
    "non_finite",
]
STATUS_MESSAGES: dict[CupedStatus, str] = {
    "ok": "",
    "too_few_units": "fewer than 2 units in an arm: no adjustment (θ = 0)",
    "zero_variance": "the metric does not vary in either arm: no adjustment (θ = 0)",
    "constant_covariate": "a covariate does not vary: its coefficient is 0",
    "collinear_covariates": "the covariates are collinear: minimum-norm "
    "least-squares coefficients",
    "zero_denominator": "a ratio denominator sums to 0 in an arm: ratio undefined",
    "zero_pre_denominator": "the pre-period denominator sums to 0 in an arm: "
    "no adjustment (θ = 0)",
    "non_finite": "the coefficients or adjusted variances are not finite in "
    "floating point: no adjustment (θ = 0)",
}

_CONSTANT = 1e-10
"""A covariate whose variance is below 1e-10 of its mean square is constant: the
cancellation in Σx² − (Σx)²/n leaves noise of about that size."""


@dataclass(frozen=True, slots=True)
class CupedAdjustment:
    """Treatment and control estimates adjusted for pre-period covariates.

    One shape for all three adjustments: `coefficients` holds one θ per covariate
    (a single element for `cuped_adjust` and `cuped_ratio_adjust`), and `theta`
    reads it when there is one.

    Attributes:
        kind: "mean" (mean, proportion, multi-covariate) or "ratio".
        source: how the coefficients were chosen: "pooled" (pooled across arms),
            "lin" (θ_L), "min-variance" (ratio θ*) or "fixed" (given by the caller).
        covariates: covariate names, in `coefficients` order.
        coefficients: θ per covariate.
        control: adjusted control estimate ȳ_C − θᵀ(x̄_C − x̄) and its variance.
        treatment: adjusted treatment estimate and its variance.
        unadjusted_control: the plain control estimate (mean, or ratio Σm/Σd).
        unadjusted_treatment: the plain treatment estimate.
        control_unit_variance: adjusted per-unit variance of control
            s²_y + θᵀΣ_xθ − 2θᵀσ_xy (ratio: ∇ᵀΛ∇), so `control.mean_variance` is
            this divided by n_C. Reusable by power and sequential tests.
        treatment_unit_variance: the same for treatment.
        variance_reduction: 1 − Var(Δ̂_adjusted)/Var(Δ̂_unadjusted); at most 1,
            negative if a fixed θ hurts, 0 when degenerate.
        correlation: pooled correlation: of outcome and covariate (one covariate),
            of outcome and the fitted θᵀx (several: the multiple R when
            ridge = 0), of the linearised post and pre ratios (ratio). NaN when
            undefined.
        status: a code from `STATUS_MESSAGES`.
    """

    kind: AdjustmentKind
    source: ThetaSource
    covariates: tuple[str, ...]
    coefficients: tuple[float, ...]
    control: ArmEstimate
    treatment: ArmEstimate
    unadjusted_control: ArmEstimate
    unadjusted_treatment: ArmEstimate
    control_unit_variance: float
    treatment_unit_variance: float
    variance_reduction: float
    correlation: float
    status: CupedStatus

    @property
    def theta(self) -> float:
        """The CUPED coefficient θ of a single-covariate adjustment.

        Raises:
            ValueError: the adjustment has several covariates; read `coefficients`.
        """
        if len(self.coefficients) != 1:
            raise ValueError(
                f"CupedAdjustment.theta: {len(self.coefficients)} covariates "
                f"{self.covariates}; read .coefficients instead"
            )
        return self.coefficients[0]

    @property
    def difference(self) -> float:
        """Adjusted treatment − control."""
        return self.treatment.mean - self.control.mean

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (arms flattened, `theta` NaN unless one covariate)."""
        data = asdict(self)
        for arm in ("control", "treatment", "unadjusted_control"):
            data |= {f"{arm}_{k}": v for k, v in data.pop(arm).items()}
        data |= {
            f"unadjusted_treatment_{k}": v
            for k, v in data.pop("unadjusted_treatment").items()
        }
        data["theta"] = (
            self.coefficients[0] if len(self.coefficients) == 1 else math.nan
        )
        return data

    def __str__(self) -> str:
        thetas = ", ".join(
            f"{k}={v:.4g}"
            for k, v in zip(self.covariates, self.coefficients, strict=True)
        )
        lines = [
            f"CUPED {self.kind} ({self.source} θ: {thetas or 'none'}) variance "
            f"{-self.variance_reduction:+.1%}, ρ = {self.correlation:.3f} "
            f"[{self.status}]"
        ]
        for name, before, after in (
            ("control", self.unadjusted_control, self.control),
            ("treatment", self.unadjusted_treatment, self.treatment),
        ):
            lines.append(
                f"  {name:<9} {before.mean:.6g} → {after.mean:.6g}  "
                f"(SE {before.standard_error:.4g} → {after.standard_error:.4g})"
            )
        return "\n".join(lines)


def _select(moments: JointMoments, names: Sequence[str]) -> JointMoments:
    """The sub-moments of `names`, in that order."""
    missing = [k for k in names if k not in moments.names]
    if missing:
        raise DataError(
            f"CUPED: variables {missing} are not in the moments {moments.names}; "
            "pass outcome=/covariates= names the SQL layer delivered"
        )
    index = [moments.index(k) for k in names]
    return JointMoments(
        moments.n,
        tuple(names),
        tuple(moments.sums[i] for i in index),
        tuple(tuple(moments.cross[i][j] for j in index) for i in index),
        None
        if moments.comoments is None
        else tuple(tuple(moments.comoments[i][j] for j in index) for i in index),
    )


def _fixed(values: Sequence[float | None], size: int) -> FloatArray:
    theta = np.asarray(values, dtype=np.float64)
    if theta.shape != (size,) or not np.all(np.isfinite(theta)):
        raise ConfigError(
            f"CUPED coefficients == {list(values)}; must be {size} finite number(s), "
            "one per covariate"
        )
    return theta


def _finite(arms: tuple[tuple[ArmEstimate, float], ...]) -> bool:
    """Whether every adjusted arm has a finite mean and variances."""
    return all(
        math.isfinite(arm.mean) and math.isfinite(arm.mean_variance) for arm, _ in arms
    )


def _assemble(
    *,
    kind: AdjustmentKind,
    source: ThetaSource,
    covariates: tuple[str, ...],
    theta: FloatArray,
    arms: tuple[tuple[ArmEstimate, float], ...],
    unadjusted: tuple[ArmEstimate, ...],
    correlation: float,
    status: CupedStatus,
) -> CupedAdjustment:
    (control, control_unit), (treatment, treatment_unit) = arms
    before = unadjusted[0].mean_variance + unadjusted[1].mean_variance
    after = control.mean_variance + treatment.mean_variance
    reduction = 1 - after / before if before > 0 and np.any(theta) else 0.0
    return CupedAdjustment(
        kind=kind,
        source=source,
        covariates=covariates,
        coefficients=tuple(float(v) for v in theta),
        control=control,
        treatment=treatment,
        unadjusted_control=unadjusted[0],
        unadjusted_treatment=unadjusted[1],
        control_unit_variance=control_unit,
        treatment_unit_variance=treatment_unit,
        variance_reduction=reduction,
        correlation=correlation,
        status=status,
    )
