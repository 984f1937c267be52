"""Sequential tests: alpha-spending GST, asymptotic CS and mSPRT (STATS.md §4).

Every function takes per-look floats (the effect estimate Δ̂_k, its standard error
SE_k, sample sizes or information fractions) computed from cumulative sufficient
statistics, never unit rows, and uses the normal z (never Welch t): STATS.md §4.4.

- Group-sequential tests (§4.3, `gst`, `alpha_spending`): Lan & DeMets (1983) alpha
  spending, boundaries by the Armitage, McPherson & Rowe (1969) recursive numerical
  integration at the information fractions actually observed; by default α/2 per
  side as gsDesign, rpact and ldbounds; Pocock's constant boundary; one-sided
  designs for non-inferiority.
- Asymptotic confidence sequences (§4.2, `confidence_sequence`): Waudby-Smith,
  Arnold, Wu, Howard & Ramdas, "Time-uniform central limit theory and asymptotic
  confidence sequences" (arXiv 2103.06476), in GrowthBook's form.
- mSPRT (§4.1, `msprt`): Johari, Pekelis & Walsh (2022), "Always Valid Inference:
  Continuous Monitoring of A/B Tests"; equal to the asymptotic CS when τ² = ρ²·s².

The result type, status codes and input checks they share live in `common`.
"""

from abkit.stats.sequential.alpha_spending import (
    DEFAULT_CONVENTION,
    Z_BOUND_CAP,
    BoundaryKind,
    Convention,
    SpendingKind,
    spending,
)
from abkit.stats.sequential.alpha_spending import (
    _boundaries as _boundaries,  # its cache is cleared by the timing test
)
from abkit.stats.sequential.common import (
    STATUS_MESSAGES,
    Alternative,
    FloatArray,
    Floats,
    SequentialMethod,
    SequentialResult,
    SequentialStatus,
)
from abkit.stats.sequential.confidence_sequence import (
    asymptotic_cs_evalue,
    asymptotic_cs_halfwidth,
    asymptotic_cs_rho_squared,
    asymptotic_cs_test,
)
from abkit.stats.sequential.gst import (
    GroupSequentialBoundaries,
    group_sequential_test,
    gst_boundaries,
    gst_inflation,
)
from abkit.stats.sequential.msprt import msprt_lambda, msprt_tau_squared, msprt_test

__all__ = [
    "DEFAULT_CONVENTION",
    "STATUS_MESSAGES",
    "Z_BOUND_CAP",
    "Alternative",
    "BoundaryKind",
    "Convention",
    "FloatArray",
    "Floats",
    "GroupSequentialBoundaries",
    "SequentialMethod",
    "SequentialResult",
    "SequentialStatus",
    "SpendingKind",
    "asymptotic_cs_evalue",
    "asymptotic_cs_halfwidth",
    "asymptotic_cs_rho_squared",
    "asymptotic_cs_test",
    "group_sequential_test",
    "gst_boundaries",
    "gst_inflation",
    "msprt_lambda",
    "msprt_tau_squared",
    "msprt_test",
    "spending",
]
