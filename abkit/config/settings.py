"""Analysis settings in exp.yaml: CUPED, pre-period, sequential, health, decision, Bayes."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, field_validator

from abkit.config.metrics import Identifier, StrictModel, refuse_repeats


class CupedSettings(StrictModel):
    """Variance reduction with pre-period data (STATS.md §3).

    Each metric is adjusted by its own pre-period value; `covariates` adds the
    pre-period values of other metrics and `unit_covariates` numeric or boolean unit
    attributes, turning CUPED into a multi-covariate regression ("CUPED++").
    """

    enabled: bool = True
    method: Literal["pooled", "lin"] = Field(
        "pooled", description="pooled θ (Deng et al.) or Lin's interacted θ"
    )
    covariates: tuple[Identifier, ...] = Field(
        (), description="metrics whose pre-period values join every mean metric's model"
    )
    unit_covariates: tuple[Identifier, ...] = Field(
        (), description="numeric or boolean columns of data.units used as covariates"
    )
    ridge: float = Field(
        0.0, ge=0, le=1e6, description="ridge penalty, scale-free (λ·diag)"
    )

    @field_validator("covariates", "unit_covariates")
    @classmethod
    def _no_repeats(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        refuse_repeats(names)
        return names


class CalendarPrePeriod(StrictModel):
    """A fixed pre-period [start, end) in calendar dates, the same for every unit.

    Events count as pre-period events only before the unit's own exposure too, so
    a range reaching into the experiment never lets treated events in.
    """

    start: dt.date
    end: dt.date = Field(description="first day no longer in the pre-period")

    def model_post_init(self, __context: Any) -> None:
        """The range must not be empty."""
        if self.end <= self.start:
            raise ValueError(
                f"pre_period end {self.end} must be after its start {self.start}"
            )


class SequentialSettings(StrictModel):
    """Monitoring plan for daily looks (STATS.md §4); sequential tests use z.

    `gst`: group-sequential boundaries with Lan-DeMets alpha spending at the
    information fractions observed (units so far / planned_units); by default
    α/2 per side as gsDesign, rpact and ldbounds (`convention`), or Pocock's
    constant boundary (`spending: pocock_constant`).
    `always_valid`: asymptotic confidence sequences tuned to planned_units.
    `msprt`: mixture SPRT, identical to `always_valid` with τ² from planned_units.
    Guardrails are monitored one-sided (non-inferiority) with `gst` or
    `always_valid`.
    """

    method: Literal["gst", "always_valid", "msprt"]
    planned_units: int = Field(
        gt=0, le=10**12, description="units (all arms) at the final look"
    )
    spending: Literal["obf", "pocock", "power", "pocock_constant"] = "obf"
    convention: Literal["per-side", "two-sided"] = Field(
        "per-side", description="α/2 spent per side (published tables) or α overall"
    )
    rho: float = Field(
        2.0, gt=0, le=50, description="exponent of the power spending family"
    )


class HealthSettings(StrictModel):
    """Thresholds of the health checks.

    SRM fails below `srm_threshold` (GrowthBook's 0.001 by default) and is worded
    as a warning between it and `srm_warning`.
    """

    srm_threshold: float = Field(
        0.001, gt=0, lt=0.5, description="SRM p-value below which the check fails"
    )
    srm_warning: float = Field(
        0.05, gt=0, lt=1, description="SRM p-value below which the check warns"
    )

    def model_post_init(self, __context: Any) -> None:
        """The warning level must lie above the failure threshold."""
        if self.srm_warning < self.srm_threshold:
            raise ValueError(
                f"health.srm_warning {self.srm_warning} must be ≥ srm_threshold "
                f"{self.srm_threshold}"
            )


CorrectionMethod = Literal[
    "holm", "hochberg", "bh", "bonferroni", "by", "holm-sidak", "sidak", "none"
]  # fmt: skip


class ProportionSettings(StrictModel):
    """How binary metrics are tested (STATS.md §1.2).

    The pooled two-proportion z-test by default; an exact test when the smallest
    expected cell count of the 2 × 2 table is below `exact_below` (the result's
    `test` says which ran).
    """

    exact_below: float = Field(
        5.0, ge=0, description="exact test below this expected cell count (0: never)"
    )
    exact_test: Literal["fisher", "boschloo", "barnard"] = "fisher"
    continuity_correction: bool = Field(
        False, description="Yates' continuity correction for the z-test"
    )


class GuardrailSettings(StrictModel):
    """A metric that must not get worse by more than a non-inferiority margin."""

    margin: float = Field(gt=0, description="tolerated harm, e.g. 0.05")
    relative: bool = Field(
        True, description="margin as a relative lift (else absolute)"
    )


class BayesSettings(StrictModel):
    """The optional Bayesian view: a normal model on the relative lift (STATS.md §8)."""

    enabled: bool = True
    prior_mean: float = Field(0.0, ge=-100, le=100, description="relative lift")
    prior_std: float | None = Field(
        None, ge=1e-6, le=1e3, description="None: a flat prior"
    )


class DecisionSettings(StrictModel):
    """Decision rules written before launch (pre-registration).

    The correction family is the primary metric (unless excluded) and the secondary
    metrics, each against every treatment; guardrails are tested one-sided against
    their margins, outside the family.
    """

    primary: Identifier
    minimum_effect: float = Field(
        0.0, ge=0, description="smallest relative lift worth shipping"
    )
    secondary: tuple[Identifier, ...] = ()
    correction: CorrectionMethod = "holm"
    primary_in_family: bool = True
    primary_weight: float = Field(
        1.0, gt=0, description="Bonferroni/Holm weight of the primary in the family"
    )
    guardrails: dict[Identifier, GuardrailSettings] = Field(default_factory=dict)

    @field_validator("secondary")
    @classmethod
    def _no_repeats(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        refuse_repeats(names)
        return names

    def model_post_init(self, __context: object) -> None:
        """The primary metric is not also a secondary one."""
        if self.primary in self.secondary:
            raise ValueError(
                f"'{self.primary}' is both primary and secondary; list it once"
            )

    def metric_names(self) -> tuple[str, ...]:
        """Every metric the rules name."""
        return (self.primary, *self.secondary, *self.guardrails)
