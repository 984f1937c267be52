"""Which per-unit variables each metric needs, and what their SQL columns are called.

The one place that names the columns crossing from SQL into Python, so that
`abkit.sql.render` (which writes them) and `abkit.aggregates.rows` (which reads them
back into `JointMoments`) cannot drift apart. Roles of a metric's variables:

- `value`: the metric's value (a ratio's numerator) inside its window;
- `den`: a ratio's denominator inside the window;
- `pre`, `pre_den`: the same measures over the pre-period before exposure (CUPED
  covariates and the pre-period balance check): the N days before each unit's
  exposure, or a calendar range (`pre_period: {start, end}` in exp.yaml), always
  cut at the unit's own exposure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from abkit.config import CalendarPrePeriod, Experiment, Measure, Metric, Window

Role = str
ROLES: tuple[Role, ...] = ("value", "den", "pre", "pre_den")


@dataclass(frozen=True, slots=True)
class UnitAggregate:
    """One FILTERed aggregate per unit: a measure over a window of days.

    With `since`/`until` (a calendar pre-period) events count from `since` to
    before `until` and, as always, before the day offset `upper` (the exposure).
    """

    column: str
    measure: Measure
    lower: int
    upper: int | None
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Cap:
    """A winsorizing cap: a pooled percentile of `source_column`."""

    column: str
    source_column: str
    percentile: float
    end_day: int | None
    ignore_zeros: bool = False


@dataclass(frozen=True, slots=True)
class Variable:
    """One analysed per-unit variable of a metric.

    `source` is the column it is read from: in `unit_aggregates` (table "u") or,
    for unit attributes used as covariates, in the `units` CTE (table "s").
    """

    role: Role
    column: str
    cap: str | None
    end_day: int | None
    source: str
    table: str = "u"


@dataclass(frozen=True, slots=True)
class MetricVariables:
    """Everything SQL computes for one metric."""

    metric: Metric
    aggregates: tuple[UnitAggregate, ...]
    caps: tuple[Cap, ...]
    variables: tuple[Variable, ...]

    @property
    def roles(self) -> tuple[Role, ...]:
        """Role names in variable order (the `JointMoments` names)."""
        return tuple(v.role for v in self.variables)

    @property
    def n_column(self) -> str:
        """Column holding the metric's unit count (censored units excluded)."""
        return f"{self.metric.name}__n"

    def pairs(self) -> tuple[tuple[Variable, Variable, str], ...]:
        """Every cross-product the metric needs, with its column name."""
        name = self.metric.name
        return tuple(
            (a, b, f"{name}__{a.role}__{b.role}__sum_prod")
            for a, b in combinations(self.variables, 2)
        )


def variable_column(metric: str, role: Role) -> str:
    """SQL column of a metric variable: the metric name for `value`."""
    return metric if role == "value" else f"{metric}__{role}"


def shift_column(column: str) -> str:
    """Column of a variable's shift: the pooled reference its shifted sums are about."""
    return f"{column}__shift"


def shifted_column(column: str) -> str:
    """A sum computed about the shifts (`x__sum` -> `x__shifted_sum`, same for _sq)."""
    head, _, tail = column.rpartition("__")
    return f"{head}__shifted_{tail}"


def unit_covariate_column(attribute: str) -> str:
    """Column of a numeric unit attribute in the `units` CTE."""
    return f"unit__{attribute}"


def metric_variables(
    metric: Metric,
    pre_period_days: int,
    covariates: Sequence[str] = (),
    unit_covariates: Sequence[str] = (),
    shift_days: int = 0,
    calendar: CalendarPrePeriod | None = None,
) -> MetricVariables:
    """Plan the per-unit aggregates, caps and variables of one metric.

    `covariates` are other metrics whose pre-period values (`<metric>__pre` in
    unit_aggregates) join this metric's regression adjustment; `unit_covariates`
    numeric unit attributes. Both apply to non-ratio metrics only.
    `shift_days` moves every window that many days back (planning: the metric as
    it was before exposure, when no treatment could touch it); shifted windows lie
    wholly in the past, so nothing is censored. `calendar` makes the pre-period a
    fixed date range (a metric's own `pre_period_days` still wins).
    """
    if metric.pre_period_days:
        calendar = None
    pre_period_days = metric.pre_period_days or pre_period_days
    name, window = metric.name, metric.effective_window
    measures = metric.measures
    roles = {"value": (measures[""], window.start_day, window.end_day)}
    if "den" in measures:
        roles["den"] = (measures["den"], window.start_day, window.end_day)
    roles["pre"] = (measures[""], -pre_period_days, 0)
    if "den" in measures:
        roles["pre_den"] = (measures["den"], -pre_period_days, 0)
    aggregates = [
        UnitAggregate(variable_column(name, role), measure, lower, upper,
                      *_calendar_bounds(role, calendar))
        for role, (measure, lower, upper) in roles.items()
    ]  # fmt: skip
    caps: tuple[Cap, ...] = ()
    if metric.winsorize is not None:
        caps = _caps(metric)
        if metric.winsorize.source == "pre_period":
            span = metric.span_days or 0
            aggregates.append(
                UnitAggregate(f"{name}__cap_base", measures[""], -span, 0)
            )
    if shift_days:
        aggregates = [_shifted(a, shift_days) for a in aggregates]
        window = Window(start_day=window.start_day)  # history is complete: no censoring
    cap_of_role = {"value": caps[0].column, "pre": caps[1].column} if caps else {}
    column = {role: variable_column(name, role) for role in roles}
    variables = [
        Variable(
            role, column[role], cap_of_role.get(role), window.end_day, column[role]
        )
        for role in roles
    ]
    if metric.kind != "ratio" and metric.cuped:
        variables += [
            Variable(f"cov__{other}", f"{name}__cov__{other}", None, window.end_day,
                     variable_column(other, "pre"))
            for other in covariates
            if other != name
        ]  # fmt: skip
        variables += [
            Variable(f"unit__{attribute}", f"{name}__unit__{attribute}", None,
                     window.end_day, unit_covariate_column(attribute), "s")
            for attribute in unit_covariates
        ]  # fmt: skip
    return MetricVariables(metric, tuple(aggregates), caps, tuple(variables))


def _calendar_bounds(
    role: Role, calendar: CalendarPrePeriod | None
) -> tuple[dt.date | None, dt.date | None]:
    if calendar is None or role not in ("pre", "pre_den"):
        return None, None
    return calendar.start, calendar.end


def _shifted(aggregate: UnitAggregate, days: int) -> UnitAggregate:
    upper = aggregate.upper - days if aggregate.upper is not None else 0
    delta = dt.timedelta(days=days)
    return replace(
        aggregate,
        lower=aggregate.lower - days,
        upper=upper,
        since=aggregate.since - delta if aggregate.since else None,
        until=aggregate.until - delta if aggregate.until else None,
    )


def _caps(metric: Metric) -> tuple[Cap, Cap]:
    """Caps of the value and of its pre-period covariate, each its own percentile."""
    assert metric.winsorize is not None
    name, spec = metric.name, metric.winsorize
    percentile, zeros = spec.upper, spec.ignore_zeros
    if spec.source == "pre_period":
        value_cap = Cap(f"{name}__cap", f"{name}__cap_base", percentile, None, zeros)
    else:
        end_day = metric.effective_window.end_day
        value_cap = Cap(f"{name}__cap", name, percentile, end_day, zeros)
    return value_cap, Cap(f"{name}__pre__cap", f"{name}__pre", percentile, None, zeros)


MAX_NOVELTY_DAYS = 28
"""Longer windows are not split: a day-by-day view needs few, full days."""


def novelty_metric(experiment: Experiment) -> Metric | None:
    """The metric whose effect is split by day since exposure: the primary one.

    None when exp.yaml turns the view off (`novelty_view: false`), or the metric is
    not a windowed mean or proportion.
    """
    if not experiment.novelty_view:
        return None
    name = (
        experiment.decision.primary
        if experiment.decision
        else experiment.metrics[0].name
    )
    metric = experiment.metric(name)
    window = metric.effective_window
    if metric.kind not in ("mean", "proportion") or window.end_day is None:
        return None
    if window.end_day - window.start_day > MAX_NOVELTY_DAYS:
        return None
    return metric


def novelty_day_metrics(experiment: Experiment) -> tuple[Metric, ...]:
    """The primary metric once per day since exposure, each a one-day window.

    The analysis query computes them beside the experiment's own metrics, so the
    day-since-exposure view costs no second scan of the events.
    """
    metric = novelty_metric(experiment)
    if metric is None:
        return ()
    window = metric.effective_window
    assert window.end_day is not None
    return tuple(
        metric.model_copy(update={
            "name": f"{metric.name}__day{day}",
            "window": Window(start_day=day, end_day=day + 1),
            "winsorize": None,
            "cuped": False,
        })
        for day in range(window.start_day, window.end_day)
    )  # fmt: skip


def experiment_variables(
    experiment: Experiment, shift_days: int = 0
) -> tuple[MetricVariables, ...]:
    """The variables of every metric of an experiment, in metric order."""
    cuped = experiment.cuped
    return tuple(
        metric_variables(
            m,
            experiment.pre_period_days,
            cuped.covariates,
            cuped.unit_covariates,
            shift_days,
            experiment.pre_period,
        )
        for m in experiment.metrics
    )
