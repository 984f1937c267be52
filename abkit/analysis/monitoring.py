"""Daily looks: cumulative statistics per morning and sequential tests over them.

Every metric gets a daily series (the estimate and fixed-horizon CI of that
morning's units). With `sequential:` in exp.yaml the series also carries the
sequential CI or boundary and the always-valid verdict (STATS.md §4), and each
guardrail a one-sided non-inferiority verdict. The looks are running sums of
moments.sql's exposure-key rows, so the whole series costs no query of its own.

Which units a look holds: a windowed metric counts the units whose window had
ended by that morning; an open-window metric (no `end_day`) the units exposed
before it (window started), each measured with today's data. Either way the
look's information is 1/SE² of the cumulative moments (units so far × their
variance) and its fraction units so far / planned_units. The cohorts are nested
and disjoint across exposure days, so the looks form a sequential process. Once
enrolment has ended an open-window metric adds no units: its information
plateaus, and a plateau adds no look (a windowed metric keeps adding looks as
windows complete). The series is computed with today's knowledge: a unit later
seen in a second variant is excluded from every look, while `abkit analyze
--as-of` (the analysis exactly as run that morning) still had it. A
cluster-randomized design's looks are the same running sums over cluster-sum
increments (`abkit.analysis.cluster_looks`): cluster-robust SE, units counted.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from abkit.aggregates.moments import JointMoments
from abkit.analysis.guardrail_monitoring import (
    GuardrailLooks,
    NonInferiority,
    non_inferiority,
)
from abkit.config import (
    Experiment,
    Metric,
    SequentialSettings,
)
from abkit.stats.cluster import ClusterArm
from abkit.stats.sequential import (
    SequentialResult,
    asymptotic_cs_test,
    group_sequential_test,
    msprt_tau_squared,
    msprt_test,
)
from abkit.stats.srm import SequentialSrmResult, sequential_srm
from abkit.stats.welch import EffectResult

MIN_UNITS_PER_ARM = 100
"""Looks with fewer units per arm are skipped: the normal approximation needs them."""

LookSums = TypeVar("LookSums", JointMoments, ClusterArm)
"""What a look sums over exposure keys: unit moments, or a clustered design's
cluster-sum increments (`abkit.analysis.cluster_looks`); `.n` counts units."""

DailyRows = Mapping[str, Sequence[tuple[dt.date, Mapping[str, LookSums]]]]


@dataclass(frozen=True, slots=True)
class Look:
    """One morning's view of a metric: fixed-horizon and sequential numbers."""

    day: dt.date
    n_control: int
    n_treatment: int
    control_mean: float
    difference: float
    standard_error: float
    ci_lower: float
    ci_upper: float
    relative: float
    relative_ci_lower: float
    relative_ci_upper: float
    information: float
    sequential_lower: float = math.nan
    sequential_upper: float = math.nan
    z: float = math.nan
    z_bound: float = math.nan
    pvalue: float = math.nan

    @property
    def sequential_relative(self) -> tuple[float, float]:
        """The sequential CI as a relative lift (divided by |control mean|)."""
        if not self.control_mean:
            return math.nan, math.nan
        return (self.sequential_lower / abs(self.control_mean),
                self.sequential_upper / abs(self.control_mean))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (day as ISO text) for JSON and plots."""
        lower, upper = self.sequential_relative
        return asdict(self) | {
            "day": self.day.isoformat(),
            "sequential_relative_lower": lower,
            "sequential_relative_upper": upper,
        }


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A metric's daily series for one treatment, and its sequential verdict."""

    metric: str
    variant: str
    method: str
    looks: tuple[Look, ...]
    crossed: bool = False
    crossing_day: dt.date | None = None
    status: str = "ok"
    non_inferiority: NonInferiority | None = None

    @property
    def current(self) -> Look | None:
        """The latest look (None before the first complete window)."""
        return self.looks[-1] if self.looks else None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "metric": self.metric,
            "variant": self.variant,
            "method": self.method,
            "crossed": self.crossed,
            "crossing_day": self.crossing_day.isoformat()
            if self.crossing_day
            else None,
            "status": self.status,
            "looks": [look.to_dict() for look in self.looks],
            "non_inferiority": self.non_inferiority.to_dict()
            if self.non_inferiority
            else None,
        }


def look_days(daily: DailyRows[LookSums], last_day: dt.date) -> list[dt.date]:
    """Every morning from the first exposure key + 1 to the end of the data."""
    keys = [day for rows in daily.values() for day, _ in rows]
    if not keys:
        return []
    first = min(keys) + dt.timedelta(days=1)
    return [first + dt.timedelta(days=i) for i in range((last_day - first).days + 1)]


def running_totals(
    rows: Sequence[tuple[dt.date, Mapping[str, LookSums]]], metric: Metric
) -> list[tuple[dt.date, LookSums]]:
    """A metric's moments summed over the exposure keys up to each key, in order."""
    totals: list[tuple[dt.date, LookSums]] = []
    for key, moments in rows:
        value = moments[metric.name]
        totals.append((key, totals[-1][1] + value if totals else value))
    return totals


def _as_of(
    totals: Sequence[tuple[dt.date, LookSums]], metric: Metric, day: dt.date
) -> LookSums | None:
    """The running total on the morning of `day`.

    Keys up to day − end_day − 1 (windows complete), or for an open window up to
    day − start_day − 1 (windows started).
    """
    window = metric.effective_window
    last_day_in = window.start_day if window.end_day is None else window.end_day
    last_key = day - dt.timedelta(days=last_day_in + 1)
    position = bisect.bisect_right([key for key, _ in totals], last_key)
    return totals[position - 1][1] if position else None


def cumulative(
    rows: Sequence[tuple[dt.date, Mapping[str, LookSums]]],
    metric: Metric,
    day: dt.date,
) -> LookSums | None:
    """A metric's moments as of the morning of `day` (see `_as_of`)."""
    return _as_of(running_totals(rows, metric), metric, day)


def metric_series(
    experiment: Experiment,
    daily: DailyRows[LookSums],
    last_day: dt.date,
    compare: Any,
    alphas: Mapping[str, float] | None = None,
) -> tuple[MetricSeries, ...]:
    """Daily series (and sequential verdicts) of every metric × treatment.

    `compare(metric, control, treatment)` returns the fixed-horizon EffectResult
    (CUPED-adjusted as configured), so the series uses the same estimator as the
    scorecard. `alphas` gives a metric's sequential α when it differs from the
    experiment's (Bonferroni over the decision family, STATS.md §6).
    """
    days = look_days(daily, last_day)
    weights = experiment.variants
    results = []
    for metric in (m for m in experiment.metrics if m.kind != "quantile"):
        for variant in experiment.treatments:
            looks = _looks(metric, daily, experiment.control, variant, days, compare)
            share = (weights[experiment.control] + weights[variant]) / sum(
                weights.values()
            )
            alpha = (alphas or {}).get(metric.name, experiment.alpha)
            series = _sequential(
                metric, variant, looks, experiment.sequential, share, alpha
            )
            results.append(_with_guardrail(series, metric, experiment, share))
    return tuple(results)


def _with_guardrail(
    series: MetricSeries, metric: Metric, experiment: Experiment, share: float
) -> MetricSeries:
    """Add the one-sided non-inferiority verdict of a guardrail's looks."""
    rules, settings = experiment.decision, experiment.sequential
    if rules is None or settings is None or not series.looks:
        return series
    spec = rules.guardrails.get(metric.name)
    if spec is None:
        return series
    looks = GuardrailLooks(
        days=tuple(look.day for look in series.looks),
        differences=tuple(look.difference for look in series.looks),
        standard_errors=tuple(look.standard_error for look in series.looks),
        control_means=tuple(look.control_mean for look in series.looks),
        totals=tuple(look.n_control + look.n_treatment for look in series.looks),
    )
    verdict = non_inferiority(
        looks, spec, settings, higher_is_better=metric.direction == "higher",
        planned=settings.planned_units * share, alpha=experiment.alpha,
    )  # fmt: skip
    return dataclasses.replace(series, non_inferiority=verdict)


def _looks(
    metric: Metric,
    daily: DailyRows[LookSums],
    control: str,
    variant: str,
    days: Sequence[dt.date],
    compare: Any,
) -> list[Look]:
    looks: list[Look] = []
    totals = [running_totals(daily.get(v, ()), metric) for v in (control, variant)]
    for day in days:
        arms = [_as_of(arm, metric, day) for arm in totals]
        if arms[0] is None or arms[1] is None:
            continue
        if min(arms[0].n, arms[1].n) < MIN_UNITS_PER_ARM:
            continue
        if (
            looks
            and arms[0].n + arms[1].n == looks[-1].n_control + looks[-1].n_treatment
        ):
            continue  # no unit completed its window since the last look: no new look
        effect: EffectResult = compare(metric, arms[0], arms[1])
        if effect.status not in ("ok", "zero_control_mean"):
            continue
        looks.append(_look(day, effect, arms[0].n, arms[1].n))
    return looks


def _look(day: dt.date, effect: EffectResult, n_control: int, n_treatment: int) -> Look:
    """Fixed-horizon numbers of a look, with z (sequential tests never use t).

    The counts are the look's units (clusters, for a clustered design, are only
    the effect's degrees of freedom): the information fraction is units so far
    over `planned_units`.
    """
    se = effect.standard_error
    return Look(
        day=day,
        n_control=n_control,
        n_treatment=n_treatment,
        control_mean=effect.control.mean,
        difference=effect.difference,
        standard_error=se,
        ci_lower=effect.ci_lower,
        ci_upper=effect.ci_upper,
        relative=effect.relative,
        relative_ci_lower=effect.relative_ci_lower,
        relative_ci_upper=effect.relative_ci_upper,
        information=1 / se**2 if se > 0 else math.nan,
        z=effect.difference / se if se > 0 else math.nan,
    )


def _sequential(
    metric: Metric,
    variant: str,
    looks: list[Look],
    settings: SequentialSettings | None,
    share: float,
    alpha: float,
) -> MetricSeries:
    if not looks:
        return MetricSeries(metric.name, variant, "fixed", (), status="no_looks")
    if settings is None:
        return MetricSeries(metric.name, variant, "fixed", tuple(looks))
    planned = settings.planned_units * share
    result = run_sequential(looks, settings, planned, alpha)
    merged = tuple(_with_sequential(look, result, k) for k, look in enumerate(looks))
    crossing = result.first_crossing_index
    return MetricSeries(
        metric.name,
        variant,
        settings.method,
        merged,
        crossed=result.crossed,
        crossing_day=looks[crossing].day if crossing is not None else None,
        status=result.status,
    )


def run_sequential(
    looks: Sequence[Look], settings: SequentialSettings, planned: float, alpha: float
) -> SequentialResult:
    """The configured sequential test over the looks' z-statistics (STATS.md §4)."""
    estimates = [look.difference for look in looks]
    errors = [look.standard_error for look in looks]
    totals = [look.n_control + look.n_treatment for look in looks]
    if settings.method == "gst":
        fractions = [n / planned for n in totals]
        return group_sequential_test(
            [look.z for look in looks], fractions, alpha, spending=settings.spending,
            convention=settings.convention, rho=settings.rho, estimates=estimates,
            standard_errors=errors,
        )  # fmt: skip
    if settings.method == "always_valid":
        return asymptotic_cs_test(estimates, errors, totals, planned, alpha)
    tau_squared = [
        msprt_tau_squared(n * se**2, planned, alpha)
        for n, se in zip(totals, errors, strict=True)
    ]
    return msprt_test(estimates, errors, tau_squared, alpha)


def _with_sequential(look: Look, result: SequentialResult, k: int) -> Look:
    return dataclasses.replace(
        look,
        sequential_lower=result.ci_lower[k],
        sequential_upper=result.ci_upper[k],
        z_bound=result.z_bounds[k],
        pvalue=result.pvalues[k],
    )


def srm_series(
    daily_exposures: Mapping[dt.date, Mapping[str, int]],
    experiment: Experiment,
    days: Sequence[dt.date],
    alpha: float = 0.05,
) -> SequentialSrmResult | None:
    """Sequential SRM (Lindon & Malek) on cumulative exposures, one look per morning."""
    if not days:
        return None
    variants = list(experiment.variants)
    counts = []
    running = dict.fromkeys(variants, 0)
    exposure_days = sorted(daily_exposures)
    index = 0
    for day in days:
        while index < len(exposure_days) and exposure_days[index] < day:
            for variant in variants:
                running[variant] += int(
                    daily_exposures[exposure_days[index]].get(variant, 0)
                )
            index += 1
        counts.append([running[v] for v in variants])
    weights = [experiment.variants[v] for v in variants]
    return sequential_srm(counts, weights, alpha)


@dataclass(frozen=True, slots=True)
class NoveltyPoint:
    """The effect on one day since exposure: novelty fades, learning builds up."""

    metric: str
    variant: str
    day_since_exposure: int
    n_control: int
    n_treatment: int
    relative: float
    relative_ci_lower: float
    relative_ci_upper: float
    pvalue: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)
