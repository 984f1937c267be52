"""Guardrails monitored daily: one-sided sequential non-inferiority tests (STATS.md §4).

A guardrail with margin m is safe when its gain G (the effect, sign-flipped for
lower-is-better metrics) is shown to exceed −m. Looked at every morning, that is a
one-sided sequential test of H0: G ≤ −m: a one-sided group-sequential boundary
(`gst`) or a one-sided asymptotic confidence sequence (`always_valid`; `msprt` uses
it too, the two being identical for the tuning abkit uses). Input is per-look
floats, the same looks as the metric's two-sided series.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from abkit.config import GuardrailSettings, SequentialSettings
from abkit.stats.sequential import (
    SequentialResult,
    asymptotic_cs_test,
    group_sequential_test,
)


@dataclass(frozen=True, slots=True)
class GuardrailLooks:
    """Per-look inputs of a guardrail's non-inferiority test."""

    days: tuple[dt.date, ...]
    differences: tuple[float, ...]
    standard_errors: tuple[float, ...]
    control_means: tuple[float, ...]
    totals: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NonInferiority:
    """A guardrail's daily non-inferiority verdict.

    Attributes:
        margin: tolerated harm as configured (relative or absolute).
        relative: whether the margin is a share of the control mean.
        method: `"gst"` or `"asymptotic-cs"` (one-sided, alternative "greater").
        alpha: one-sided level.
        gain_lower: per look, the sequential lower bound of the gain G (absolute
            units; G = effect, or −effect for lower-is-better metrics).
        harm_thresholds: per look, −m in absolute units (relative margins scale
            with that morning's control mean).
        shown: whether some look showed G > −m.
        shown_day: the first such morning, or None.
        status: the sequential test's status code.
    """

    margin: float
    relative: bool
    method: str
    alpha: float
    gain_lower: tuple[float, ...]
    harm_thresholds: tuple[float, ...]
    shown: bool
    shown_day: dt.date | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (day as ISO text) for JSON."""
        return asdict(self) | {
            "shown_day": self.shown_day.isoformat() if self.shown_day else None
        }


def non_inferiority(
    looks: GuardrailLooks,
    spec: GuardrailSettings,
    settings: SequentialSettings,
    *,
    higher_is_better: bool,
    planned: float,
    alpha: float,
) -> NonInferiority:
    """One-sided sequential test of H0: gain ≤ −margin over the looks.

    Z_k = (G_k + m_k)/SE_k against a one-sided boundary at level α (`gst`, the
    information fractions units so far / planned), or the one-sided confidence
    sequence of G_k + m_k against 0 tuned to `planned` units.
    """
    sign = 1.0 if higher_is_better else -1.0
    margins = tuple(
        spec.margin * abs(mean) if spec.relative else spec.margin
        for mean in looks.control_means
    )
    shifted = [sign * d + m for d, m in zip(looks.differences, margins, strict=True)]
    errors = list(looks.standard_errors)
    result = _one_sided(shifted, errors, looks.totals, settings, planned, alpha)
    lower = tuple(b - m for b, m in zip(result.ci_lower, margins, strict=True))
    crossing = result.first_crossing_index
    return NonInferiority(
        margin=spec.margin,
        relative=spec.relative,
        method=result.method,
        alpha=alpha,
        gain_lower=lower,
        harm_thresholds=tuple(-m for m in margins),
        shown=result.crossed,
        shown_day=looks.days[crossing] if crossing is not None else None,
        status=result.status,
    )


def _one_sided(
    shifted: Sequence[float],
    errors: Sequence[float],
    totals: Sequence[int],
    settings: SequentialSettings,
    planned: float,
    alpha: float,
) -> SequentialResult:
    if settings.method == "gst":
        z = [
            s / e if e > 0 else float("nan")
            for s, e in zip(shifted, errors, strict=True)
        ]
        return group_sequential_test(
            z, [n / planned for n in totals], alpha, spending=settings.spending,
            convention=settings.convention, rho=settings.rho, estimates=shifted,
            standard_errors=errors, alternative="greater",
        )  # fmt: skip
    return asymptotic_cs_test(
        shifted, errors, totals, planned, alpha, alternative="greater"
    )
