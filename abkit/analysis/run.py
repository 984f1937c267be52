"""Orchestration of one experiment: validate, query, test, check health.

Reads like a recipe: the SQL layer reduces the event log to per-variant (and
per-segment) moments, the statistics layer turns those into effects, and the
health checks say whether the numbers can be trusted.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from abkit.aggregates.moments import JointMoments
from abkit.analysis import health
from abkit.analysis.decision import apply_decision_rules, family_members
from abkit.analysis.monitoring import (
    NoveltyPoint,
    metric_series,
    novelty_experiment,
    novelty_points,
    srm_series,
)
from abkit.analysis.registration import registration_check
from abkit.analysis.results import AnalysisResult, MetricResult, SegmentSrm
from abkit.config.models import (
    CorrectionMethod,
    CupedSettings,
    Experiment,
    Metric,
    Source,
    load_experiment,
)
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import DataError
from abkit.sql.render import (
    render_analysis_sql,
    render_contamination_sql,
    render_daily_exposures_sql,
    render_health_sql,
    segment_column,
)
from abkit.sql.variables import MetricVariables, experiment_variables
from abkit.stats.cuped import (
    CupedAdjustment,
    cuped_adjust,
    cuped_ratio_adjust,
    regression_adjust,
)
from abkit.stats.delta import ratio_estimate
from abkit.stats.srm import srm_test
from abkit.stats.welch import ArmEstimate, EffectResult, proportion_ztest, welch_test

GroupKey = tuple[str, str] | None
"""(segment, value) of a group of moments rows; None for the overall rows."""
VariantMoments = dict[str, dict[str, JointMoments]]
"""variant -> metric -> joint moments of the metric's variables."""


@dataclass(frozen=True, slots=True)
class QueryResults:
    """The small frames the SQL layer returns for one analysis."""

    moments: pd.DataFrame
    exposure_health: pd.DataFrame
    daily_exposures: pd.DataFrame
    contamination: pd.DataFrame | None
    novelty: pd.DataFrame | None = None


def abkit_version() -> str:
    """The installed abkit version."""
    try:
        return version("abkit")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def analyze(
    experiment: Experiment | str | Path,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    as_of: dt.date | None = None,
    cuped: bool | None = None,
    correction: CorrectionMethod | None = None,
) -> AnalysisResult:
    """Analyse an experiment end to end.

    Args:
        experiment: a loaded `Experiment` or the path of its exp.yaml.
        con: run on this DuckDB connection (its tables, named by `table:` in
            exp.yaml) instead of a private, locked-down one.
        as_of: analyse only data before this date, as if run that morning.
        cuped: override exp.yaml's `cuped.enabled` (None keeps the file's choice).
        correction: override the decision rules' multiple-testing correction.

    Raises:
        AbkitError: bad configuration or data, with a one-line message naming the fix.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    if as_of is not None:
        experiment = experiment.with_end(as_of)
    if cuped is not None:
        settings = experiment.cuped.model_copy(update={"enabled": cuped})
        experiment = experiment.model_copy(update={"cuped": settings})
    return build_result(experiment, run_queries(experiment, con), correction)


@contextmanager
def locked_engine(
    experiment: Experiment, connection: duckdb.DuckDBPyConnection | None = None
) -> Iterator[DuckDBEngine]:
    """An engine whose sources were checked and which reads nothing else, closed after."""
    engine = DuckDBEngine(connection)
    try:
        check_columns(engine, experiment)
        data = experiment.data
        engine.lock_down(
            [s for s in (data.assignments, data.events, data.units) if s is not None]
        )
        yield engine
    finally:
        engine.close()


def run_queries(
    experiment: Experiment, connection: duckdb.DuckDBPyConnection | None = None
) -> QueryResults:
    """Check the sources, lock the engine down and run the analysis queries."""
    with locked_engine(experiment, connection) as engine:
        contamination_sql = render_contamination_sql(experiment)
        split = novelty_experiment(experiment)
        return QueryResults(
            moments=engine.query(render_analysis_sql(experiment)),
            exposure_health=engine.query(render_health_sql(experiment)),
            daily_exposures=engine.query(render_daily_exposures_sql(experiment)),
            contamination=engine.query(contamination_sql)
            if contamination_sql
            else None,
            novelty=engine.query(render_analysis_sql(split)) if split else None,
        )


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
    units = {v: _n_units(frames.moments, v) for v in experiment.variants}
    weights = list(experiment.variants.values())
    srm = srm_test(list(units.values()), weights, health.SRM_THRESHOLD)
    segment_srm = _segment_srm(frames.moments, groups, experiment)
    totals = (
        frames.moments[_overall_rows(frames.moments, experiment.segments)]
        .sum(numeric_only=True)
        .to_dict()
    )
    checks = (
        health.srm_check(srm),
        health.daily_srm_check(frames.daily_exposures, experiment),
        health.segment_srm_check(segment_srm),
        health.multiple_variants_check(frames.exposure_health),
        health.unknown_variants_check(frames.exposure_health, experiment),
        *health.activity_checks(totals),
        health.pre_period_balance_check(overall, experiment),
        health.pre_period_coverage_check(totals, experiment.pre_period_days),
        health.contamination_check(frames.contamination, experiment),
        registration_check(experiment),
    )
    caps = read_caps(frames.moments, plans)
    window_end = _window_end(experiment, frames.exposure_health)
    last_day = _last_look_day(experiment, window_end)
    series = metric_series(
        experiment,
        read_daily(frames.moments, plans),
        last_day,
        lambda metric, control, treatment: (
            compare(
                metric, control, treatment, experiment.alpha, experiment.cuped
            ).effect
        ),
        sequential_alphas(experiment),
    )
    novelty = _novelty(experiment, frames)
    days = sorted({look.day for s in series for look in s.looks})
    srm_over_time = srm_series(_daily_counts(frames.daily_exposures), experiment, days)
    segment_results = tuple(
        result
        for key, moments in groups.items()
        if key is not None
        for result in metric_results(experiment, moments, key, caps)
    )
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
        metrics=metric_results(experiment, overall, None, caps),
        engine="duckdb",
        abkit_version=abkit_version(),
        segment_results=segment_results,
        segment_srm=segment_srm,
        series=series,
        sequential=experiment.sequential,
        sequential_srm=srm_over_time,
        novelty=novelty,
    )
    return apply_decision_rules(result, experiment, correction)


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
    """The morning of the last look: the analysis end, or the day after the last event."""
    if experiment.end is not None:
        return experiment.end
    if window_end is None:
        return dt.date.min
    return window_end.date() + dt.timedelta(days=1)


def _daily_counts(frame: pd.DataFrame) -> dict[dt.date, dict[str, int]]:
    counts: dict[dt.date, dict[str, int]] = {}
    for row in frame.to_dict("records"):
        day = pd.Timestamp(row["exposure_day"]).date()
        counts.setdefault(day, {})[str(row["variant"])] = int(row["n_units"])
    return counts


def check_columns(engine: DuckDBEngine, experiment: Experiment) -> None:
    """Every mapped column exists in its source, or a DataError naming the fix."""
    data = experiment.data
    roles: dict[str, tuple[Source | None, tuple[str, ...]]] = {
        "assignments": (data.assignments, ("unit_id", "variant", "timestamp")),
        "events": (
            data.events,
            ("unit_id", "timestamp", "event", "value", "partner_id"),
        ),
        "units": (data.units, ("unit_id",)),
    }
    for table, (source, keys) in roles.items():
        if source is None:
            continue
        present = engine.columns(source)
        wanted = [(f"data.{table}.{k}", getattr(source, k)) for k in keys]
        extra = getattr(source, "extra_columns", ())
        wanted += [(f"data.{table}.extra_columns", c) for c in extra]
        if table == "units":
            wanted += [("segments", s) for s in experiment.segments]
            wanted += [
                ("cuped.unit_covariates", c) for c in experiment.cuped.unit_covariates
            ]
        for key, column in wanted:
            if column and column not in present:
                raise DataError(_missing_column(key, column, present, source))


def _missing_column(
    key: str, column: str, present: Sequence[str], source: Source
) -> str:
    close = difflib.get_close_matches(column, list(present), n=1)
    hint = (
        f"did you mean '{close[0]}'?" if close else f"columns are: {', '.join(present)}"
    )
    where = source.path or source.table
    return (
        f"exp.yaml: {key} names column '{column}', which {where} does not have; {hint}"
    )


def read_moments(
    rows: pd.DataFrame, plans: Sequence[MetricVariables], segments: Sequence[str]
) -> dict[GroupKey, VariantMoments]:
    """Group the moments.sql rows into (segment, value) -> variant -> metric moments.

    Groups come out in a stable order (overall, then segments as configured, values
    sorted) whatever order the engine returned the rows in.
    """
    groups: dict[GroupKey, VariantMoments] = {}
    for row in rows[rows["exposure_key"].isna()].to_dict("records"):
        key = _group_key(row, segments)
        groups.setdefault(key, {})[str(row["variant"])] = {
            plan.metric.name: joint_moments(row, plan) for plan in plans
        }
    order = {segment: i for i, segment in enumerate(segments)}
    return dict(
        sorted(groups.items(), key=lambda item: (-1, "") if item[0] is None
               else (order[item[0][0]], item[0][1]))
    )  # fmt: skip


def joint_moments(row: Mapping[str, Any], plan: MetricVariables) -> JointMoments:
    """One metric's JointMoments from its columns in a moments.sql row."""
    variables = plan.variables
    index = {v.column: i for i, v in enumerate(variables)}
    sums = [_number(row[f"{v.column}__sum"]) for v in variables]
    cross = [[0.0] * len(variables) for _ in variables]
    for i, v in enumerate(variables):
        cross[i][i] = _number(row[f"{v.column}__sum_sq"])
    for left, right, column in plan.pairs():
        i, j = index[left.column], index[right.column]
        cross[i][j] = cross[j][i] = _number(row[column])
    return JointMoments(
        int(row[plan.n_column]),
        plan.roles,
        tuple(sums),
        tuple(tuple(r) for r in cross),
    )


def _number(value: Any) -> float:
    """SQL SUM over no rows is NULL: read it as 0."""
    return (
        0.0
        if value is None or (isinstance(value, float) and math.isnan(value))
        else float(value)
    )


def _group_key(row: Mapping[str, Any], segments: Sequence[str]) -> GroupKey:
    for segment in segments:
        value = row.get(segment_column(segment))
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return (segment, str(value))
    return None


def read_daily(
    rows: pd.DataFrame, plans: Sequence[MetricVariables]
) -> dict[str, list[tuple[dt.date, dict[str, JointMoments]]]]:
    """Per variant, the exposure-key rows in date order (moments.sql's daily set)."""
    daily: dict[str, list[tuple[dt.date, dict[str, JointMoments]]]] = {}
    selected = rows[rows["exposure_key"].notna()].sort_values("exposure_key")
    for row in selected.to_dict("records"):
        moments = {plan.metric.name: joint_moments(row, plan) for plan in plans}
        day = pd.Timestamp(row["exposure_key"]).date()
        daily.setdefault(str(row["variant"]), []).append((day, moments))
    return daily


def _overall_rows(rows: pd.DataFrame, segments: Sequence[str]) -> pd.Series[bool]:
    mask = rows["exposure_key"].isna()
    for segment in segments:
        mask &= rows[segment_column(segment)].isna()
    return mask


def _n_units(rows: pd.DataFrame, variant: str, key: GroupKey = None) -> int:
    selected = rows[(rows["variant"] == variant) & rows["exposure_key"].isna()]
    segment_columns = [c for c in rows.columns if c.startswith("segment__")]
    for column in segment_columns:
        wanted = key is not None and column == segment_column(key[0])
        selected = selected[
            (selected[column] == key[1]) if wanted and key else selected[column].isna()
        ]
    return int(selected["n_units"].sum())


def _require_units(
    overall: VariantMoments, experiment: Experiment, exposure_health: pd.DataFrame
) -> None:
    for variant in experiment.variants:
        if variant not in overall:
            raise DataError(_empty_variant_message(variant, exposure_health))


def _empty_variant_message(variant: str, exposure_health: pd.DataFrame) -> str:
    found = sorted(str(v) for v in exposure_health["variant"].dropna().unique())
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
    rows: pd.DataFrame,
    groups: Mapping[GroupKey, VariantMoments],
    experiment: Experiment,
) -> tuple[SegmentSrm, ...]:
    keys = [k for k in groups if k is not None]
    threshold = health.segment_srm_threshold(len(keys))
    weights = list(experiment.variants.values())
    return tuple(
        SegmentSrm(key[0], key[1], srm_test(
            [_n_units(rows, v, key) for v in experiment.variants], weights, threshold
        ))
        for key in keys
    )  # fmt: skip


def read_caps(rows: pd.DataFrame, plans: Sequence[MetricVariables]) -> dict[str, float]:
    """The winsorizing cap of each capped metric (the same on every moments row)."""
    caps = {}
    for plan in plans:
        value_cap = next(
            (v.cap for v in plan.variables if v.role == "value" and v.cap), None
        )
        if value_cap is not None and not rows.empty:
            caps[plan.metric.name] = _number(rows[value_cap].max())
    return caps


def cap_rule(metric: Metric) -> str:
    """How a metric's cap was computed, in words."""
    spec = metric.winsorize
    if spec is None:
        return ""
    source = (
        "pre-period values" if spec.source == "pre_period" else "in-experiment values"
    )
    among = "non-zero " if spec.ignore_zeros else ""
    return f"p{spec.upper * 100:g} of all exposed units' {among}{source}, pooled across arms"


def metric_results(
    experiment: Experiment,
    moments: VariantMoments,
    key: GroupKey = None,
    caps: Mapping[str, float] | None = None,
) -> tuple[MetricResult, ...]:
    """Every metric × treatment compared with the control.

    A variant without units in a group (a segment value) compares as empty moments,
    which the tests report as too few units.
    """
    caps = caps or {}
    results = []
    for plan in experiment_variables(experiment):
        metric = plan.metric
        control = _arm_moments(moments, experiment.control, plan)
        for variant in experiment.treatments:
            treated = _arm_moments(moments, variant, plan)
            comparison = compare(
                metric, control, treated, experiment.alpha, experiment.cuped
            )
            results.append(
                MetricResult(
                    metric.name,
                    metric.kind,
                    metric.direction,
                    metric.format,
                    variant,
                    comparison.effect,
                    metric.description,
                    key[0] if key else None,
                    key[1] if key else None,
                    caps.get(metric.name),
                    cap_rule(metric),
                    comparison.adjustment,
                    comparison.unadjusted,
                )
            )
    return tuple(results)


def _arm_moments(
    moments: VariantMoments, variant: str, plan: MetricVariables
) -> JointMoments:
    found = moments.get(variant, {}).get(plan.metric.name)
    return found if found is not None else JointMoments.empty(plan.roles)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A metric's test, with the CUPED adjustment and the unadjusted test if used."""

    effect: EffectResult
    adjustment: CupedAdjustment | None = None
    unadjusted: EffectResult | None = None


def unadjusted_test(
    metric: Metric, control: JointMoments, treatment: JointMoments, alpha: float
) -> EffectResult:
    """The plain test suited to the metric kind (STATS.md §1, §2)."""
    if metric.kind == "ratio":
        return welch_test(
            ratio_estimate(control, "value", "den"),
            ratio_estimate(treatment, "value", "den"),
            alpha,
        )
    if metric.is_binary:
        return proportion_ztest(
            control.marginal("value"), treatment.marginal("value"), alpha
        )
    return welch_test(
        ArmEstimate.from_moments(control.marginal("value")),
        ArmEstimate.from_moments(treatment.marginal("value")),
        alpha,
    )


def cuped_adjustment(
    metric: Metric,
    control: JointMoments,
    treatment: JointMoments,
    settings: CupedSettings,
) -> CupedAdjustment:
    """CUPED on the metric's pre-period value, plus any extra covariates (STATS §3)."""
    if metric.kind == "ratio":
        return cuped_ratio_adjust(control, treatment)
    extra = tuple(r for r in control.names if r.startswith(("cov__", "unit__")))
    if extra or settings.ridge:
        return regression_adjust(
            control, treatment, covariates=("pre", *extra), ridge=settings.ridge,
            method=settings.method,
        )  # fmt: skip
    return cuped_adjust(control, treatment, method=settings.method)


def compare(
    metric: Metric,
    control: JointMoments,
    treatment: JointMoments,
    alpha: float,
    cuped: CupedSettings | None = None,
) -> Comparison:
    """Test one metric; with CUPED settings, Welch on the adjusted arms."""
    plain = unadjusted_test(metric, control, treatment, alpha)
    if cuped is None or not cuped.enabled or not metric.cuped:
        return Comparison(plain)
    adjustment = cuped_adjustment(metric, control, treatment, cuped)
    if adjustment.status != "ok":
        return Comparison(plain, adjustment, plain)
    adjusted = welch_test(adjustment.control, adjustment.treatment, alpha)
    return Comparison(adjusted, adjustment, plain)


def _window_start(experiment: Experiment, rows: pd.DataFrame) -> dt.datetime | None:
    if experiment.start is not None:
        return dt.datetime.combine(experiment.start, dt.time())
    return _timestamp(rows["first_exposure"].min())


def _window_end(experiment: Experiment, rows: pd.DataFrame) -> dt.datetime | None:
    last = _timestamp(rows["last_event"].max())
    if experiment.end is not None:
        end = dt.datetime.combine(experiment.end, dt.time())
        return min(end, last) if last is not None else end
    return last


def _timestamp(value: object) -> dt.datetime | None:
    if value is None or value is pd.NaT or not isinstance(value, dt.datetime):
        return None
    converted: dt.datetime = pd.Timestamp(value).to_pydatetime()
    return converted
