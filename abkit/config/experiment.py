"""exp.yaml: the data sources, the experiment as written, and the resolved `Experiment`."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from abkit.config.hints import clip, suggest
from abkit.config.metrics import Identifier, Metric, StrictModel, refuse_repeats
from abkit.config.names import check_table_name
from abkit.config.settings import (
    BayesSettings,
    CalendarPrePeriod,
    CupedSettings,
    DecisionSettings,
    HealthSettings,
    ProportionSettings,
    SequentialSettings,
)
from abkit.errors import ConfigError

SHARE_TOLERANCE = 1e-6
"""How far the variant shares may sum from 1 (rounding of e.g. 1/3 written out)."""


class Source(StrictModel):
    """Where a table lives: a file (Parquet/CSV, glob allowed) or a table name."""

    path: str | None = None
    table: str | None = None

    def model_post_init(self, __context: Any) -> None:
        """Exactly one of path and table."""
        if (self.path is None) == (self.table is None):
            raise ValueError("give exactly one of 'path' or 'table'")

    @field_validator("table")
    @classmethod
    def _table_name(cls, table: str | None) -> str | None:
        if table is not None:
            check_table_name(table)
        return table


class AssignmentsSource(Source):
    """Assignment log: which unit saw which variant, and when."""

    unit_id: str = "unit_id"
    variant: str = "variant"
    timestamp: str = "timestamp"
    cluster: str | None = Field(
        None,
        description="randomization unit when it is not the analysis unit: units "
        "sharing this column's value (e.g. city) were assigned together",
    )


class EventsSource(Source):
    """Event log: one row per event of a unit."""

    unit_id: str = "unit_id"
    timestamp: str = "timestamp"
    event: str = "event"
    value: str | None = "value"
    partner_id: str | None = None
    extra_columns: tuple[Identifier, ...] = Field(
        (), description="further event columns that metric expressions may use"
    )


class UnitsSource(Source):
    """Unit attributes (platform, country, ...) for segments."""

    unit_id: str = "unit_id"


class DataSources(StrictModel):
    """The experiment's three tables and their column mapping."""

    assignments: AssignmentsSource
    events: EventsSource
    units: UnitsSource | None = None


class ExperimentFile(StrictModel):
    """exp.yaml as written by the analyst."""

    name: Identifier
    title: str = ""
    owner: str = ""
    hypothesis: str = ""
    metrics_file: str = "metrics.yaml"
    data: DataSources
    variants: dict[str, float] = Field(
        min_length=2, description="variant -> planned share"
    )
    control: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    metrics: tuple[str, ...] = Field(min_length=1)
    segments: tuple[Identifier, ...] = Field(
        (),
        description="unit attributes (columns of data.units) to break results down by",
    )
    pre_period_days: int = Field(
        14, ge=1, le=365, description="days before exposure used as the pre-period"
    )
    pre_period: CalendarPrePeriod | None = Field(
        None, description="fixed dates as the pre-period, instead of pre_period_days"
    )
    interaction_events: tuple[str, ...] = Field(
        ("match", "message"),
        description="two-sided events whose partner may sit in another arm",
    )
    alpha: float = Field(0.05, gt=0, lt=0.5)
    relative_ci: Literal["delta", "fieller"] = Field(
        "delta",
        description="interval of the relative lift: delta method or Fieller (valid "
        "when the control mean is near zero)",
    )
    cuped: CupedSettings = CupedSettings()
    sequential: SequentialSettings | None = None
    health: HealthSettings = HealthSettings()
    decision: DecisionSettings | None = None
    bayesian: BayesSettings | None = None
    engine: Literal["duckdb", "spark", "postgres"] = Field(
        "duckdb",
        description="where the queries run; --engine and abkit.analyze(con=...) override",
    )
    proportions: ProportionSettings = ProportionSettings()
    novelty_view: bool = Field(
        True,
        description="split the primary metric's effect by day since exposure (its "
        "window's days become extra columns of the analysis query); false saves "
        "that cost when nobody reads the view",
    )
    refresh_buffer_days: int = Field(
        1,
        ge=0,
        le=60,
        description="days before the data watermark that `abkit analyze --refresh` "
        "scans again, for late-arriving events",
    )

    def model_post_init(self, __context: Any) -> None:
        """Segments and unit covariates need a units table."""
        if self.segments and self.data.units is None:
            raise ValueError("segments need data.units (the table of unit attributes)")
        if self.cuped.unit_covariates and self.data.units is None:
            raise ValueError("cuped.unit_covariates need data.units")

    time_zone: str = Field(
        "UTC",
        description="zone that days and dates are counted in; tz-aware timestamps "
        "are converted to it, whatever the machine's time zone",
    )

    @field_validator("variants")
    @classmethod
    def _positive_weights(cls, variants: dict[str, float]) -> dict[str, float]:
        for name, weight in variants.items():
            if not weight > 0:
                raise ValueError(
                    f"variant '{clip(name)}' has share {weight}; shares must be > 0"
                )
        total = sum(variants.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            shares = " + ".join(f"{w:g}" for w in variants.values())
            raise ValueError(
                f"variant shares add up to {total:g} ({clip(shares)}), not 1; "
                "write the planned share of each variant so that they sum to 1"
            )
        return variants

    @field_validator("metrics", "segments", "interaction_events")
    @classmethod
    def _no_repeats(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        refuse_repeats(names)
        return names

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"time zone '{clip(zone)}' is not known; use an IANA name such "
                "as UTC or Europe/Berlin"
            ) from None
        return zone


class Experiment(ExperimentFile):
    """A validated experiment: metrics resolved, control chosen, paths absolute."""

    metrics: tuple[Metric, ...]  # type: ignore[assignment]
    control: str
    path: Path | None = None
    config_hash: str

    @property
    def treatments(self) -> tuple[str, ...]:
        """Every non-control variant, in file order."""
        return tuple(v for v in self.variants if v != self.control)

    def metric(self, name: str) -> Metric:
        """A metric of this experiment by name."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise ConfigError(
            f"{self.name}: no metric '{name}'{suggest(name, self.metric_names)}"
        )

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of the experiment's metrics in order."""
        return tuple(m.name for m in self.metrics)

    def with_end(self, end: dt.date | None) -> Experiment:
        """The same experiment analysed only up to `end` (exclusive)."""
        return self.model_copy(update={"end": end})
