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

from abkit.stats.power.design import (
    Design,
    MdeType,
    MetricKind,
    MetricModel,
    PowerResult,
    Sides,
)
from abkit.stats.power.sizing import (
    duration_days,
    mde_for_duration,
    minimum_detectable_effect,
    power_at,
    sample_size,
)

__all__ = [
    "Design",
    "MdeType",
    "MetricKind",
    "MetricModel",
    "PowerResult",
    "Sides",
    "duration_days",
    "mde_for_duration",
    "minimum_detectable_effect",
    "power_at",
    "sample_size",
]
