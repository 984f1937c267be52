"""The final numbers every side must produce, and how they are compared.

The limit, polars and pandas each reduce the data to per-variant sums (`ArmSums`:
n, Σy, Σy², Σx, Σx², Σxy per KPI, x being the KPI over the pre-period); the same
few lines here turn those into CUPED-adjusted Welch results. They are written out
independently of abkit (plain formulas, Deng et al. 2013 with θ pooled over both
arms, Welch–Satterthwaite df), so agreeing with abkit checks abkit's statistics
too. abkit's own numbers are read from its JSON payload (`abkit_numbers`), the same
dict for the API (`result.to_dict()`) and the CLI (`-f json`).

A side's result is `Numbers`: KPI -> field -> value, with the fields in `FIELDS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy import special

KPIS = ("events", "clicks", "purchases", "revenue", "converted")
CONTROL, TREATMENT = "control", "treatment"
FIELDS = (
    "control_n",
    "treatment_n",
    "control_mean",
    "treatment_mean",
    "control_mean_variance",
    "treatment_mean_variance",
    "theta",
    "difference",
    "unadjusted_difference",
    "relative",
    "statistic",
    "df",
    "pvalue",
)
"""Per KPI: arm sizes, CUPED-adjusted arm means and their variances, θ, the adjusted
effect (treatment − control), the plain difference of means, the relative lift
(adjusted), and the Welch test."""

Numbers = dict[str, dict[str, float]]


@dataclass(frozen=True, slots=True)
class ArmSums:
    """One arm's sufficient statistics of a KPI y and its pre-period covariate x."""

    n: int
    sum_y: float
    sum_y_sq: float
    sum_x: float
    sum_x_sq: float
    sum_xy: float

    def __add__(self, other: ArmSums) -> ArmSums:
        return ArmSums(
            self.n + other.n,
            self.sum_y + other.sum_y,
            self.sum_y_sq + other.sum_y_sq,
            self.sum_x + other.sum_x,
            self.sum_x_sq + other.sum_x_sq,
            self.sum_xy + other.sum_xy,
        )

    @property
    def mean_y(self) -> float:
        """ȳ."""
        return self.sum_y / self.n

    @property
    def mean_x(self) -> float:
        """x̄."""
        return self.sum_x / self.n

    @property
    def variance_y(self) -> float:
        """s²_y (n − 1)."""
        return (self.sum_y_sq - self.sum_y * self.sum_y / self.n) / (self.n - 1)

    @property
    def variance_x(self) -> float:
        """s²_x (n − 1)."""
        return (self.sum_x_sq - self.sum_x * self.sum_x / self.n) / (self.n - 1)

    @property
    def covariance(self) -> float:
        """s_xy (n − 1)."""
        return (self.sum_xy - self.sum_x * self.sum_y / self.n) / (self.n - 1)


def arm_sums(row: Mapping[str, Any], kpi: str) -> ArmSums:
    """A KPI's sums from a row named like limit.sql's output (`<kpi>__sum`, …).

    A SQL SUM over no rows is NULL (an arm whose units have no events): read as 0.
    """
    names = ("sum", "sum_sq", "pre__sum", "pre__sum_sq", "pre__sum_prod")
    values = [row[f"{kpi}__{name}"] for name in names]
    return ArmSums(int(row["n"]), *(0.0 if v is None else float(v) for v in values))


def cuped_welch(control: ArmSums, treatment: ArmSums) -> dict[str, float]:
    """CUPED with θ pooled over both arms, then Welch's t-test on the adjusted arms.

    θ = s_xy / s²_x over the pooled sample; an arm's adjusted mean is
    ȳ_g − θ(x̄_g − x̄) and its variance (s²_y + θ²s²_x − 2θs_xy)/n_g. The p-value
    is 2·P(T_df < −|t|) from `scipy.special.stdtr`, which is what
    `scipy.stats.t.sf` computes, without scipy.stats' second of import time.
    """
    pooled = control + treatment
    theta = pooled.covariance / pooled.variance_x
    arms = []
    for arm in (control, treatment):
        mean = arm.mean_y - theta * (arm.mean_x - pooled.mean_x)
        unit_variance = (
            arm.variance_y + theta**2 * arm.variance_x - 2 * theta * arm.covariance
        )
        arms.append((mean, unit_variance / arm.n))
    (mean_c, var_c), (mean_t, var_t) = arms
    difference = mean_t - mean_c
    statistic = difference / math.sqrt(var_c + var_t)
    df = (var_c + var_t) ** 2 / (
        var_t**2 / (treatment.n - 1) + var_c**2 / (control.n - 1)
    )
    return {
        "control_n": float(control.n),
        "treatment_n": float(treatment.n),
        "control_mean": mean_c,
        "treatment_mean": mean_t,
        "control_mean_variance": var_c,
        "treatment_mean_variance": var_t,
        "theta": theta,
        "difference": difference,
        "unadjusted_difference": treatment.mean_y - control.mean_y,
        "relative": difference / mean_c,
        "statistic": statistic,
        "df": df,
        "pvalue": float(2 * special.stdtr(df, -abs(statistic))),
    }


def numbers_from_rows(rows: Mapping[str, Mapping[str, Any]]) -> Numbers:
    """Every KPI's result from per-variant rows (variant -> limit.sql-style row)."""
    return {
        kpi: cuped_welch(arm_sums(rows[CONTROL], kpi), arm_sums(rows[TREATMENT], kpi))
        for kpi in KPIS
    }


def abkit_numbers(payload: Mapping[str, Any]) -> Numbers:
    """The same fields from abkit's JSON payload (API `to_dict()` or CLI `-f json`)."""
    numbers: Numbers = {}
    for entry in payload["metrics"]:
        if entry["segment"] is not None or entry["variant"] != TREATMENT:
            continue
        if not entry["cuped"]:
            raise ValueError(f"abkit did not CUPED-adjust {entry['metric']}: {entry}")
        found = {field: float(entry[field]) for field in FIELDS if field in entry}
        found["theta"] = float(entry["cuped_coefficients"][0])
        absent = [field for field in FIELDS if field not in found]
        if absent:
            raise ValueError(f"abkit's result for {entry['metric']} lacks {absent}")
        numbers[entry["metric"]] = found
    missing = [kpi for kpi in KPIS if kpi not in numbers]
    if missing:
        raise ValueError(f"abkit's payload has no results for {missing}")
    return numbers


def relative_difference(first: float, second: float) -> float:
    """|a − b| / max(|a|, |b|); 0 when both are 0, infinite when either is NaN."""
    if math.isnan(first) or math.isnan(second):
        return math.inf
    scale = max(abs(first), abs(second))
    return abs(first - second) / scale if scale > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """The largest relative difference between two sides' numbers, and where."""

    value: float
    kpi: str
    field: str
    reference: float
    other: float


def largest_difference(reference: Numbers, other: Numbers) -> Discrepancy:
    """The field where `other` is relatively furthest from `reference`."""
    worst = Discrepancy(0.0, "", "", 0.0, 0.0)
    for kpi in KPIS:
        for field in FIELDS:
            first, second = reference[kpi][field], other[kpi][field]
            gap = relative_difference(first, second)
            if gap > worst.value or not worst.kpi:
                worst = Discrepancy(gap, kpi, field, first, second)
    return worst
