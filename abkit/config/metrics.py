"""The metrics catalogue (metrics.yaml): how each KPI is computed per unit.

Strict pydantic models: unknown keys are errors, every instance is frozen, and each
metric kind checks it has the fields it needs and no others.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]
MetricKind = Literal["mean", "proportion", "ratio", "retention", "quantile"]
QuantileLevel = Literal["unit", "event"]
QuantileInterval = Literal["outer", "price_bonett"]
Aggregate = Literal["sum", "any", "active_days", "distinct_partners"]
Direction = Literal["higher", "lower"]
DisplayFormat = Literal["number", "count", "percent", "currency"]
CapSource = Literal["pre_period", "experiment"]


def refuse_repeats(names: tuple[str, ...]) -> None:
    """Refuse a name listed twice (it would silently change the correction family).

    Raises:
        ValueError: naming the first repeated name.
    """
    seen: set[str] = set()
    for name in names:
        if name in seen:
            shown = name if len(name) <= 60 else name[:59] + "…"
            raise ValueError(f"'{shown}' is listed twice; list each name once")
        seen.add(name)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, instances are frozen.

    NaN and ±inf are refused in every number (`.nan`, `.inf` in YAML).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Window(StrictModel):
    """Days after a unit's exposure in which its events count: [start_day, end_day).

    A unit counts in a windowed metric only once its whole window lies inside the
    data (late entrants are censored, not counted as zeros).
    """

    start_day: int = Field(0, ge=0, description="first day counted (0 = exposure day)")
    end_day: int | None = Field(
        None,
        gt=0,
        description="first day no longer counted; None = until the data ends",
    )

    def model_post_init(self, __context: Any) -> None:
        """The window must not be empty."""
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(
                f"window end_day {self.end_day} must be after start_day {self.start_day}"
            )


class Measure(StrictModel):
    """What is aggregated per unit: which events, which value, how.

    `sum` adds `value` (a count when value is 1); `any` is 1 if the unit had such an
    event; `active_days` counts distinct days (since exposure) with such an event;
    `distinct_partners` counts distinct partner ids (e.g. conversations started).
    """

    events: tuple[str, ...] = Field(min_length=1, description="event names that count")
    value: str = Field("1", description="SQL expression summed per unit")
    filter: str | None = Field(None, description="SQL boolean over event columns")
    aggregate: Aggregate = "sum"


class Winsorize(StrictModel):
    """Cap each unit's value at a percentile computed in SQL over all exposed units.

    From the pre-period by default: a cap fixed before treatment cannot be moved by
    the treatment (STATS.md §9). `experiment` pools both arms' in-experiment values.
    """

    upper: float = Field(gt=0.5, lt=1.0, description="percentile, e.g. 0.99")
    source: CapSource = "pre_period"
    ignore_zeros: bool = Field(
        False,
        description="percentile over units with a non-zero value (e.g. over payers, when "
        "most units have no revenue and the plain percentile would be 0)",
    )


class Metric(StrictModel):
    """A KPI computed per randomization unit from the event log.

    Kinds: `mean` (per-unit aggregate averaged over exposed units, zeros included),
    `proportion` (share of units with at least one matching event), `ratio`
    (Σ numerator / Σ denominator, delta method), `retention` (share of units active
    on day N, or on days N..M, after exposure, among units whose days are observed),
    `quantile` (the p-quantile of per-unit values, or of event values with
    `level: event`; order-statistic CI, docs/methods/quantiles.md).
    """

    name: Identifier = Field(description="filled in from the metrics.yaml key")
    kind: MetricKind
    events: tuple[str, ...] | None = Field(None, min_length=1)
    value: str = Field("1", description="SQL expression summed per unit")
    filter: str | None = Field(None, description="SQL boolean over event columns")
    aggregate: Aggregate = "sum"
    numerator: Measure | None = None
    denominator: Measure | None = None
    days: tuple[int] | tuple[int, int] | None = Field(
        None, description="retention: [N] or [N, M] days after exposure"
    )
    window: Window = Window()
    winsorize: Winsorize | None = None
    cuped: bool = Field(True, description="adjust with the pre-period value (CUPED)")
    pre_period_days: int | None = Field(
        None, ge=1, le=365, description="pre-period length; default: the experiment's"
    )
    direction: Direction = "higher"
    format: DisplayFormat = "number"
    description: str = ""
    quantile: float | None = Field(
        None, gt=0, lt=1, description="quantile metrics: p, e.g. 0.9 for p90"
    )
    level: QuantileLevel = Field(
        "unit",
        description="quantile metrics: of per-unit values (unit) or of every event's "
        "value, clustered by unit (event)",
    )
    interval: QuantileInterval = Field(
        "outer",
        description="quantile metrics: the CI of each arm's quantile, by order "
        "statistics (outer, Deng et al. 2018) or, for the median of per-unit values, "
        "Price–Bonett's distribution-free CI of the difference and ratio of medians "
        "(price_bonett; quantile: 0.5, level: unit)",
    )

    def model_post_init(self, __context: Any) -> None:
        """Each kind has the fields it needs and no others."""
        if self.kind == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError("a ratio metric needs numerator: and denominator:")
            if self.events is not None:
                raise ValueError(
                    "a ratio metric takes events inside numerator/denominator"
                )
        else:
            if self.events is None:
                raise ValueError(f"a {self.kind} metric needs events: [event names]")
            if self.numerator is not None or self.denominator is not None:
                raise ValueError("numerator/denominator are only for kind: ratio")
        if (self.kind == "retention") != (self.days is not None):
            raise ValueError(
                "days: [N] or [N, M] is required for, and only for, retention"
            )
        if self.days is not None and (
            min(self.days) < 0 or self.days[-1] < self.days[0]
        ):
            raise ValueError(
                f"retention days {list(self.days)} must be N or N <= M, >= 0"
            )
        if (self.kind == "quantile") != (self.quantile is not None):
            raise ValueError(
                "quantile: p (e.g. 0.9) is required for, and only for, kind: quantile"
            )
        if self.level == "event" and self.kind != "quantile":
            raise ValueError("level: event applies to kind: quantile metrics only")
        self._check_interval()
        if self.winsorize is not None and self.kind != "mean":
            raise ValueError("winsorize applies to kind: mean metrics only")
        if (
            self.winsorize
            and self.winsorize.source == "pre_period"
            and not self.span_days
        ):
            raise ValueError("winsorize from the pre-period needs window.end_day")

    def _check_interval(self) -> None:
        """Price–Bonett is a CI of medians of per-unit values only."""
        if self.interval != "outer" and self.kind != "quantile":
            raise ValueError(
                f"interval: {self.interval} applies to kind: quantile metrics only"
            )
        if self.interval == "price_bonett" and (
            self.quantile != 0.5 or self.level != "unit"
        ):
            raise ValueError(
                "interval: price_bonett is for the median of per-unit values "
                "(quantile: 0.5, level: unit); use interval: outer for "
                f"quantile: {self.quantile:g} at level: {self.level}"
            )

    @property
    def measures(self) -> dict[str, Measure]:
        """Per-unit measures by role: '' (the value or numerator) and 'den'."""
        if self.kind == "ratio":
            assert self.numerator is not None
            assert self.denominator is not None
            return {"": self.numerator, "den": self.denominator}
        assert self.events is not None
        aggregate = (
            "any" if self.kind in ("proportion", "retention") else self.aggregate
        )
        return {"": Measure(events=self.events, value=self.value, filter=self.filter,
                            aggregate=aggregate)}  # fmt: skip

    @property
    def effective_window(self) -> Window:
        """The day window, with retention days turned into one."""
        if self.days is not None:
            return Window(start_day=self.days[0], end_day=self.days[-1] + 1)
        return self.window

    @property
    def span_days(self) -> int | None:
        """Length of the window in days (None when open-ended)."""
        window = self.effective_window
        return None if window.end_day is None else window.end_day - window.start_day

    @property
    def is_binary(self) -> bool:
        """Per-unit values are 0/1 (proportion-type tests apply)."""
        return self.kind in ("proportion", "retention")


class MetricsFile(StrictModel):
    """The shared metrics catalogue: metric definitions keyed by name."""

    metrics: dict[Identifier, dict[str, Any]]
