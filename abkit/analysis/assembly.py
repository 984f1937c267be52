"""Result assembly: the query frames of one analysis turned into an `AnalysisResult`.

No IO: the frames come from `abkit.analysis.queries`. Moments are read back, the arms
compared, the health checks and the daily series computed, and the pre-registered
decision rules applied last.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence

from abkit.aggregates.rows import (
    GroupKey,
    Row,
    VariantMoments,
    as_datetime,
    daily_exposure_counts,
    is_null,
    overall_totals,
    read_caps,
    read_daily,
    read_moments,
    unit_counts,
)
from abkit.analysis import health
from abkit.analysis.cluster_looks import (
    cluster_daily_exposures,
    cluster_exposure_counts,
    cluster_series,
)
from abkit.analysis.clusters import cluster_segment_srm, cluster_srm, with_clusters
from abkit.analysis.comparison import compare, metric_results, unadjusted_test
from abkit.analysis.day_split import novelty_experiment
from abkit.analysis.decision import apply_decision_rules, family_members
from abkit.analysis.monitoring import (
    MetricSeries,
    NoveltyPoint,
    metric_series,
    srm_series,
)
from abkit.analysis.novelty import novelty_points
from abkit.analysis.quantiles import quantile_results
from abkit.analysis.queries import QueryResults
from abkit.analysis.registration import registration_check
from abkit.analysis.results import (
    AnalysisResult,
    HealthCheck,
    MetricResult,
    SegmentSrm,
)
from abkit.config import CorrectionMethod, Experiment
from abkit.errors import DataError
from abkit.resources import abkit_version
from abkit.sql.variables import MetricVariables, experiment_variables
from abkit.stats.srm import SequentialSrmResult, SrmResult, srm_test


def build_result(
    experiment: Experiment,
    frames: QueryResults,
    correction: CorrectionMethod | None = None,
) -> AnalysisResult:
    """Turn the query results into tested metrics and health checks (no IO)."""
    plans = experiment_variables(experiment)
    groups = read_moments(frames.moments, plans, experiment.segments)
    overall = groups.pop(None, {})
    _require_units(overall, experiment, frames.exposure_health)
    variants = list(experiment.variants)
    counts = unit_counts(frames.moments, variants, [None])[None]
    units = dict(zip(variants, counts, strict=True))
    weights = list(experiment.variants.values())
    srm = cluster_srm(experiment, frames.clusters) or srm_test(
        list(units.values()), weights, experiment.health.srm_threshold
    )
    segment_srm = cluster_segment_srm(experiment, frames.clusters) or _segment_srm(
        frames.moments, groups, experiment
    )
    checks = _health_checks(experiment, frames, overall, srm, segment_srm)
    caps = read_caps(frames.moments, plans)
    window_end = _window_end(experiment, frames.exposure_health)
    series = _metric_series(experiment, frames, plans, window_end)
    result = AnalysisResult(
        experiment=experiment.name,
        title=experiment.title,
        control=experiment.control,
        variants=tuple(experiment.variants),
        alpha=experiment.alpha,
        config_hash=experiment.config_hash,
        window_start=_window_start(experiment, frames.exposure_health),
        window_end=window_end,
        units=units,
        excluded_units=health.multi_variant_units(frames.exposure_health),
        srm=srm,
        health=checks,
        metrics=with_clusters(
            experiment,
            metric_results(experiment, overall, None, caps)
            + quantile_results(experiment, frames.quantiles),
            frames.clusters,
        ),
        engine=frames.engine,
        dialect=frames.dialect,
        abkit_version=abkit_version(),
        segment_results=with_clusters(
            experiment, _segment_results(experiment, groups, caps), frames.clusters
        ),
        segment_srm=segment_srm,
        series=series,
        sequential=experiment.sequential,
        sequential_srm=_srm_over_time(experiment, frames, series),
        novelty=_novelty(experiment, frames),
    )
    return apply_decision_rules(result, experiment, correction)


def _health_checks(
    experiment: Experiment,
    frames: QueryResults,
    overall: VariantMoments,
    srm: SrmResult,
    segment_srm: Sequence[SegmentSrm],
) -> tuple[HealthCheck, ...]:
    """Every data-quality check, in the order the scorecard lists them."""
    totals = overall_totals(frames.moments, experiment.segments)
    daily = (  # a clustered design's per-day SRM counts new clusters per day
        frames.daily_exposures
        if frames.clusters is None
        else cluster_daily_exposures(frames.clusters)
    )
    return (
        health.srm_check(srm, experiment.health.srm_warning),
        health.daily_srm_check(daily, experiment),
        health.segment_srm_check(segment_srm),
        health.multiple_variants_check(frames.exposure_health),
        health.unknown_variants_check(frames.exposure_health, experiment),
        *health.activity_checks(totals),
        health.pre_period_balance_check(overall, experiment),
        health.pre_period_coverage_check(
            totals, experiment.pre_period_days, experiment.pre_period
        ),
        health.contamination_check(frames.contamination, experiment),
        registration_check(experiment),
    )


def _metric_series(
    experiment: Experiment,
    frames: QueryResults,
    plans: Sequence[MetricVariables],
    window_end: dt.datetime | None,
) -> tuple[MetricSeries, ...]:
    """Daily looks of every windowed metric, tested as the scorecard tests them."""
    if frames.clusters is not None:
        return cluster_series(
            experiment,
            frames.clusters,
            _last_look_day(experiment, window_end),
            sequential_alphas(experiment),
        )
    return metric_series(
        experiment,
        read_daily(frames.moments, plans),
        _last_look_day(experiment, window_end),
        lambda metric, control, treatment: (
            compare(
                metric, control, treatment, experiment.alpha, experiment.cuped
            ).effect
        ),
        sequential_alphas(experiment),
    )


def _srm_over_time(
    experiment: Experiment, frames: QueryResults, series: Sequence[MetricSeries]
) -> SequentialSrmResult | None:
    """The sequential SRM test on the days the metric series looked at."""
    days = sorted({look.day for s in series for look in s.looks})
    counts = (
        daily_exposure_counts(frames.daily_exposures)
        if frames.clusters is None
        else cluster_exposure_counts(frames.clusters)
    )  # a clustered design's sequential SRM counts clusters
    return srm_series(counts, experiment, days)


def _segment_results(
    experiment: Experiment,
    groups: Mapping[GroupKey, VariantMoments],
    caps: Mapping[str, float],
) -> tuple[MetricResult, ...]:
    """Every metric × treatment within each segment value (exploratory)."""
    return tuple(
        result
        for key, moments in groups.items()
        if key is not None
        for result in metric_results(experiment, moments, key, caps)
    )


def _novelty(experiment: Experiment, frames: QueryResults) -> tuple[NoveltyPoint, ...]:
    split = novelty_experiment(experiment)
    if split is None or frames.novelty is None:
        return ()
    moments = read_moments(frames.novelty, experiment_variables(split), ()).get(
        None, {}
    )
    return novelty_points(
        experiment,
        moments,
        lambda metric, control, treatment: unadjusted_test(
            metric, control, treatment, experiment.alpha
        ),
    )


def sequential_alphas(experiment: Experiment) -> dict[str, float]:
    """Bonferroni α for the decision family's sequential tests (STATS.md §6).

    Holm or BH over always-valid p-values is not standard, so sequential tests of
    the family split α evenly whatever correction the scorecard uses.
    """
    rules = experiment.decision
    members = family_members(experiment)
    if rules is None or rules.correction == "none" or not members:
        return {}
    size = len(members) * len(experiment.treatments)
    return dict.fromkeys(members, experiment.alpha / size)


def _last_look_day(experiment: Experiment, window_end: dt.datetime | None) -> dt.date:
    """The morning of the last look: the analysis end, clipped to the data's end.

    Looks stop the morning after the last event, so `end: 9999-12-31` (or
    `--as-of 9999-12-31`) gives the same looks as no end instead of one per day
    until the year 9999.
    """
    if window_end is None:
        return dt.date.min
    after_data = window_end.date() + dt.timedelta(days=1)
    return min(experiment.end, after_data) if experiment.end else after_data


def _require_units(
    overall: VariantMoments, experiment: Experiment, exposure_health: Sequence[Row]
) -> None:
    for variant in experiment.variants:
        if variant not in overall:
            raise DataError(_empty_variant_message(variant, exposure_health))


def _empty_variant_message(variant: str, exposure_health: Sequence[Row]) -> str:
    found = sorted(
        {str(row["variant"]) for row in exposure_health if not is_null(row["variant"])}
    )
    close = difflib.get_close_matches(variant, found, n=1)
    hint = (
        f"did you mean '{close[0]}'?" if close else "check the spelling and the dates"
    )
    shown = ", ".join(f"'{v}'" for v in found) or "none"
    return (
        f"variant '{variant}' has no exposed units (variants in the data: {shown}); "
        f"fix variants: in exp.yaml, {hint}"
    )


def _segment_srm(
    rows: Sequence[Row],
    groups: Mapping[GroupKey, VariantMoments],
    experiment: Experiment,
) -> tuple[SegmentSrm, ...]:
    keys = [k for k in groups if k is not None]
    threshold = health.segment_srm_threshold(len(keys), experiment.health.srm_threshold)
    weights = list(experiment.variants.values())
    counts = unit_counts(rows, list(experiment.variants), keys)
    return tuple(
        SegmentSrm(key[0], key[1], srm_test(counts[key], weights, threshold))
        for key in keys
    )


def _window_start(experiment: Experiment, rows: Sequence[Row]) -> dt.datetime | None:
    if experiment.start is not None:
        return dt.datetime.combine(experiment.start, dt.time())
    return _extreme(rows, "first_exposure", min)


def _window_end(experiment: Experiment, rows: Sequence[Row]) -> dt.datetime | None:
    last = _extreme(rows, "last_event", max)
    if experiment.end is not None:
        end = dt.datetime.combine(experiment.end, dt.time())
        return min(end, last) if last is not None else end
    return last


def _extreme(
    rows: Sequence[Row], column: str, pick: Callable[[list[dt.datetime]], dt.datetime]
) -> dt.datetime | None:
    """The earliest or latest timestamp of a column (None if it has none)."""
    present = [t for row in rows if (t := as_datetime(row[column])) is not None]
    return pick(present) if present else None
