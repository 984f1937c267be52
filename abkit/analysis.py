"""Orchestration of one experiment: validate, query, test, check health.

Reads like a recipe: the SQL layer reduces the event log to per-variant moments,
the statistics layer turns those into effects, and the health checks say whether
the numbers can be trusted.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import pandas as pd

from abkit.config import Experiment, Metric, Source, load_experiment
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import DataError
from abkit.results import AnalysisResult, CheckStatus, HealthCheck, MetricResult
from abkit.sql import render_analysis_sql, render_health_sql
from abkit.stats.moments import Moments
from abkit.stats.srm import SrmResult, srm_test
from abkit.stats.welch import ArmEstimate, EffectResult, proportion_ztest, welch_test

SRM_THRESHOLD = 0.001
"""SRM is flagged below this p-value (GrowthBook's default; STATS.md §5)."""


def abkit_version() -> str:
    """The installed abkit version."""
    try:
        return version("abkit")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def analyze(
    experiment: Experiment | str | Path,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
    as_of: dt.date | None = None,
) -> AnalysisResult:
    """Analyse an experiment end to end.

    Args:
        experiment: a loaded `Experiment` or the path of its exp.yaml.
        connection: run on this DuckDB connection (its tables) instead of a private one.
        as_of: analyse only data before this date, as if run that morning.

    Raises:
        AbkitError: bad configuration or data, with a one-line message naming the fix.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    if as_of is not None:
        experiment = experiment.with_end(as_of)
    engine = DuckDBEngine(connection)
    try:
        check_columns(engine, experiment)
        engine.lock_down(_sources(experiment))
        health_rows = engine.query(render_health_sql(experiment))
        moment_rows = engine.query(render_analysis_sql(experiment))
    finally:
        engine.close()
    moments = variant_moments(moment_rows, experiment, health_rows)
    units = {v: moments[v][experiment.metrics[0].name].n for v in experiment.variants}
    srm = srm_test(
        list(units.values()), list(experiment.variants.values()), SRM_THRESHOLD
    )
    return AnalysisResult(
        experiment=experiment.name,
        title=experiment.title,
        control=experiment.control,
        variants=tuple(experiment.variants),
        alpha=experiment.alpha,
        config_hash=experiment.config_hash,
        window_start=_window_start(experiment, health_rows),
        window_end=_window_end(experiment, health_rows),
        units=units,
        excluded_units=_multi_variant_units(health_rows),
        srm=srm,
        health=health_checks(health_rows, experiment, srm),
        metrics=metric_results(experiment, moments),
        engine=engine.name,
        abkit_version=abkit_version(),
    )


def _sources(experiment: Experiment) -> list[Source]:
    data = experiment.data
    return [s for s in (data.assignments, data.events, data.units) if s is not None]


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
        wanted = [(k, getattr(source, k)) for k in keys if getattr(source, k)]
        extra = getattr(source, "extra_columns", ())
        for key, column in [*wanted, *((f"extra_columns[{c}]", c) for c in extra)]:
            if column not in present:
                close = difflib.get_close_matches(column, present, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"columns are: {', '.join(present)}"
                )
                raise DataError(
                    f"exp.yaml: data.{table}.{key} maps to column '{column}', "
                    f"which {source.path or source.table} does not have; {hint}"
                )


def variant_moments(
    rows: pd.DataFrame, experiment: Experiment, health_rows: pd.DataFrame
) -> dict[str, dict[str, Moments]]:
    """Per variant, per metric moments from the moments.sql result."""
    by_variant = {str(r["variant"]): r for r in rows.to_dict("records")}
    moments: dict[str, dict[str, Moments]] = {}
    for variant in experiment.variants:
        row = by_variant.get(variant)
        if row is None or int(row["n_units"]) == 0:
            raise DataError(_empty_variant_message(variant, health_rows))
        moments[variant] = {
            m.name: Moments(
                int(row["n_units"]),
                float(row[f"{m.name}__sum"]),
                float(row[f"{m.name}__sum_sq"]),
            )
            for m in experiment.metrics
        }
    return moments


def _empty_variant_message(variant: str, health_rows: pd.DataFrame) -> str:
    found = sorted(str(v) for v in health_rows["variant"].dropna().unique())
    close = difflib.get_close_matches(variant, found, n=1)
    hint = (
        f"did you mean '{close[0]}'?"
        if close
        else "check the spelling and the date window"
    )
    shown = ", ".join(f"'{v}'" for v in found) or "none"
    return (
        f"variant '{variant}' has no exposed units (variants in the data: {shown}); "
        f"fix variants: in exp.yaml, {hint}"
    )


def metric_results(
    experiment: Experiment, moments: Mapping[str, Mapping[str, Moments]]
) -> tuple[MetricResult, ...]:
    """Every metric × treatment compared with the control."""
    results = []
    for metric in experiment.metrics:
        control = moments[experiment.control][metric.name]
        for variant in experiment.treatments:
            effect = compare(
                metric, control, moments[variant][metric.name], experiment.alpha
            )
            results.append(
                MetricResult(
                    metric.name,
                    metric.kind,
                    metric.direction,
                    metric.format,
                    variant,
                    effect,
                    metric.description,
                )
            )
    return tuple(results)


def compare(
    metric: Metric, control: Moments, treatment: Moments, alpha: float
) -> EffectResult:
    """The test suited to the metric kind (STATS.md §1)."""
    if metric.kind == "proportion":
        return proportion_ztest(control, treatment, alpha)
    return welch_test(
        ArmEstimate.from_moments(control), ArmEstimate.from_moments(treatment), alpha
    )


def health_checks(
    rows: pd.DataFrame, experiment: Experiment, srm: SrmResult
) -> tuple[HealthCheck, ...]:
    """SRM, units in several variants, units in unconfigured variants."""
    checks = [_srm_check(srm)]
    total = int(rows["n_units"].sum())
    multi = _multi_variant_units(rows)
    share = multi / total if total else 0.0
    status: CheckStatus = (
        "ok" if multi == 0 else ("warning" if share < 0.01 else "failed")
    )
    checks.append(
        HealthCheck(
            "multiple_variants",
            status,
            f"{multi:,} units ({share:.2%}) were exposed to more than one variant "
            "and are "
            "excluded"
            if multi
            else "no unit was exposed to more than one variant",
            float(multi),
        )
    )
    single = rows[~rows["multiple_variants"].astype(bool)]
    unknown = single[~single["variant"].isin(list(experiment.variants))]
    n_unknown = int(unknown["n_units"].sum())
    names = ", ".join(f"'{v}'" for v in unknown["variant"])
    checks.append(
        HealthCheck(
            "unknown_variants",
            "warning" if n_unknown else "ok",
            f"{n_unknown:,} units are in variants not in exp.yaml ({names}) "
            "and are ignored"
            if n_unknown
            else "every exposed unit is in a configured variant",
            float(n_unknown),
        )
    )
    return tuple(checks)


def _srm_check(srm: SrmResult) -> HealthCheck:
    if srm.status != "ok":
        return HealthCheck(
            "srm", "warning", f"SRM test not possible: {srm.status}", None
        )
    if srm.flagged:
        return HealthCheck(
            "srm",
            "failed",
            f"sample ratio mismatch: p = {srm.pvalue:.2g} < {SRM_THRESHOLD}; "
            "the split differs from the plan, so results may be biased — "
            "find the cause before trusting any metric",
            srm.pvalue,
        )
    return HealthCheck(
        "srm", "ok", f"split matches the plan (p = {srm.pvalue:.3g})", srm.pvalue
    )


def _multi_variant_units(rows: pd.DataFrame) -> int:
    return int(rows.loc[rows["multiple_variants"].astype(bool), "n_units"].sum())


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
