"""Shared pieces of the sequential tests: result type, status codes, checks.

Every test takes per-look floats (the effect estimate Δ̂_k, its standard error SE_k,
sample sizes or information fractions) computed from cumulative sufficient
statistics, never unit rows, and uses the normal z (never Welch t): STATS.md §4.4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from abkit.errors import ConfigError, DataError

FloatArray = npt.NDArray[np.float64]
Floats = Sequence[float] | npt.NDArray[np.floating[Any]]

SequentialMethod = Literal["gst", "asymptotic-cs", "msprt"]
Alternative = Literal["two-sided", "greater", "less"]
SequentialStatus = Literal[
    "ok",
    "no_looks",
    "invalid_statistic",
    "information_overrun",
    "alpha_exhausted",
    "empty_intersection",
]
STATUS_MESSAGES: dict[SequentialStatus, str] = {
    "ok": "",
    "no_looks": "no looks yet: nothing to test",
    "invalid_statistic": "a look has a NaN/infinite statistic or a zero standard "
    "error; it was skipped",
    "information_overrun": "the last look is past the planned information (t > 1); "
    "its bound spends all remaining alpha",
    "alpha_exhausted": "looks after t = 1 have no alpha left: their bounds are "
    "capped and cannot be crossed in practice",
    "empty_intersection": "the intersected confidence sequence is empty: the effect "
    "is probably not constant over time",
}


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """Per-look outcome of a sequential test (GST, asymptotic CS or mSPRT).

    Attributes:
        method: which test produced the result.
        alpha: two-sided type I error.
        z_statistics: Z_k = (Δ̂_k − null) / SE_k per look.
        z_bounds: |z| needed to reject at each look.
        ci_lower: lower confidence bound per look (GST: repeated CI
            Δ̂_k − c_k·SE_k; CS and mSPRT: running maximum over looks).
        ci_upper: upper confidence bound per look (running minimum for CS/mSPRT).
        e_values: mixture likelihood ratio Λ_k = E_k (NaN for GST).
        pvalues: always-valid p-value, the running minimum of 1/E (NaN for GST,
            which has no always-valid p-value).
        crossed: whether any look rejected the null.
        first_crossing_index: 0-based index of the first rejecting look, or None.
        status: a code from `STATUS_MESSAGES`.
        alternative: `"two-sided"`, or one-sided `"greater"` (H1: effect > null;
            the CI has no upper bound) or `"less"`.
    """

    method: SequentialMethod
    alpha: float
    z_statistics: tuple[float, ...]
    z_bounds: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]
    e_values: tuple[float, ...]
    pvalues: tuple[float, ...]
    crossed: bool
    first_crossing_index: int | None
    status: SequentialStatus
    alternative: Alternative = "two-sided"

    @property
    def current_bound(self) -> float:
        """The |z| bound at the latest look (NaN before any look)."""
        return self.z_bounds[-1] if self.z_bounds else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        verdict = (
            f"rejected at look {self.first_crossing_index + 1}"
            if self.first_crossing_index is not None
            else "not rejected"
        )
        rows = "\n".join(
            f"look {k + 1:>3}  z={z:+.3f}  |z|≥{c:.3f}  ci=[{lo:.4g}, {hi:.4g}]"
            + ("" if math.isnan(p) else f"  p={p:.3g}")
            for k, (z, c, lo, hi, p) in enumerate(
                zip(
                    self.z_statistics,
                    self.z_bounds,
                    self.ci_lower,
                    self.ci_upper,
                    self.pvalues,
                    strict=True,
                )
            )
        )
        return f"{self.method} α={self.alpha:g}: {verdict} ({self.status})\n{rows}"


def _always_valid_result(
    method: SequentialMethod,
    alpha: float,
    *,
    estimate: FloatArray,
    se: FloatArray,
    z: FloatArray,
    halfwidth: FloatArray,
    log_e: FloatArray,
    alternative: Alternative = "two-sided",
) -> SequentialResult:
    """Running-intersection CS and running-minimum p-values from per-look pieces.

    One-sided (`"greater"`/`"less"`) the sequence is a lower (upper) bound only.
    """
    valid = np.isfinite(z) & np.isfinite(log_e) & np.isfinite(halfwidth) & (se > 0)
    log_e = np.where(valid, log_e, 0.0)
    pvalues = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_e)))
    lower = np.maximum.accumulate(np.where(valid, estimate - halfwidth, -np.inf))
    upper = np.minimum.accumulate(np.where(valid, estimate + halfwidth, np.inf))
    if alternative == "greater":
        upper = np.full(upper.size, np.inf)
    elif alternative == "less":
        lower = np.full(lower.size, -np.inf)
    crossed = valid & (log_e >= -math.log(alpha))
    status: SequentialStatus = "ok"
    if not valid.all():
        status = "invalid_statistic"
    elif np.any(lower > upper):
        status = "empty_intersection"
    e_values = tuple(_exp(log_e).tolist())
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.where(valid, halfwidth / se, math.nan)
    return _result(
        method, alpha, z=z, bounds=bounds, lower=lower, upper=upper, e_values=e_values,
        pvalues=tuple(pvalues.tolist()), crossed=crossed, status=status,
        alternative=alternative,
    )  # fmt: skip


def _result(
    method: SequentialMethod,
    alpha: float,
    *,
    z: FloatArray,
    bounds: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    e_values: tuple[float, ...],
    pvalues: tuple[float, ...],
    crossed: npt.NDArray[np.bool_],
    status: SequentialStatus,
    alternative: Alternative = "two-sided",
) -> SequentialResult:
    hits = np.flatnonzero(crossed)
    return SequentialResult(
        method=method,
        alpha=alpha,
        z_statistics=tuple(z.tolist()),
        z_bounds=tuple(np.asarray(bounds, dtype=np.float64).tolist()),
        ci_lower=tuple(lower.tolist()),
        ci_upper=tuple(upper.tolist()),
        e_values=e_values,
        pvalues=pvalues,
        crossed=bool(hits.size),
        first_crossing_index=int(hits[0]) if hits.size else None,
        status=status,
        alternative=alternative,
    )


def _empty_result(method: SequentialMethod, alpha: float) -> SequentialResult:
    return SequentialResult(
        method, alpha, (), (), (), (), (), (), False, None, "no_looks"
    )


def _exp(log_values: FloatArray) -> FloatArray:
    """Exponentiate, overflowing to inf silently (an e-value above 1e308 is huge)."""
    with np.errstate(over="ignore"):
        return np.asarray(np.exp(log_values), dtype=np.float64)


def _as_array(values: float | Floats) -> FloatArray:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(
            f"sequential test: alpha == {alpha}, must be in (0, 1); e.g. 0.05"
        )


def _check_lengths(where: str, **arrays: FloatArray | tuple[float, ...]) -> None:
    sizes = {name: len(array) for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise DataError(
            f"{where}: per-look inputs differ in length ({sizes}); pass one value "
            "per look for each"
        )
