"""CUPED and regression adjustment over sufficient statistics (STATS.md §3).

Deng, Xu, Kohavi, Walker (2013), "Improving the Sensitivity of Online Controlled
Experiments by Utilizing Pre-Experiment Data", WSDM: subtract θ times a pre-period
covariate, with the same θ in both arms, and the variance of the difference
shrinks by the factor 1 − ρ².

- `cuped_adjust`: one covariate, mean or proportion metric (§3.1); θ pooled across
  the arms (GrowthBook-compatible) or Lin's θ_L (§3.5).
- `cuped_ratio_adjust`: ratio metric Σm/Σd with the pre-period ratio as the
  covariate, by the delta method (§3.4).
- `regression_adjust`: several covariates ("CUPED++"), pooled normal equations with
  an optional scale-free ridge (§3.5). With one covariate it equals `cuped_adjust`.

All three return a `CupedAdjustment`: adjusted and unadjusted `ArmEstimate`s that go
into `welch_test`/`z_test` unchanged, plus each arm's adjusted per-unit variance,
which power planning and sequential tests reuse as a sufficient statistic
(`adjusted_unit_variance`, `adjusted_ratio_unit_variance` compute it for one arm).

Shared conventions:

- Centring: an adjusted arm estimate is ȳ_g − θᵀ(x̄_g − x̄), x̄ the covariate mean
  of both arms pooled (tea-tasting, Spotify confidence). The difference equals
  GrowthBook's ȳ_g − θᵀx̄_g, but each arm stays on the metric's scale, so the
  relative lift of `welch_test` divides by the *adjusted* control mean, not the
  unadjusted one GrowthBook uses (STATS.md §3.1).
- θ is treated as known in the variances, as is standard: its sampling error is
  O(1/N) (STATS.md §3.1). Moments use n − 1 denominators.
- Degenerate inputs (an arm with < 2 units, no variance, a constant covariate, a
  zero denominator) give θ = 0, i.e. exactly the unadjusted estimates, and a
  `status` code from `STATUS_MESSAGES`. They never raise.
"""

from abkit.stats.cuped.common import (
    STATUS_MESSAGES,
    AdjustmentKind,
    CupedAdjustment,
    CupedStatus,
    FloatArray,
    ThetaMethod,
    ThetaSource,
)
from abkit.stats.cuped.mean import (
    adjusted_unit_variance,
    cuped_adjust,
    regression_adjust,
)
from abkit.stats.cuped.ratio import adjusted_ratio_unit_variance, cuped_ratio_adjust

__all__ = [
    "STATUS_MESSAGES",
    "AdjustmentKind",
    "CupedAdjustment",
    "CupedStatus",
    "FloatArray",
    "ThetaMethod",
    "ThetaSource",
    "adjusted_ratio_unit_variance",
    "adjusted_unit_variance",
    "cuped_adjust",
    "cuped_ratio_adjust",
    "regression_adjust",
]
