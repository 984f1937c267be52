"""Render the SQL templates in `queries/` from a validated experiment.

Templates are written once in DuckDB SQL. This module fills them from a validated
`Experiment`; every user-supplied expression passes `abkit.sql.safety` first. Asked
for another dialect, it fills in that dialect's rules (`abkit.sql.dialects.RULES`:
percentile function, day arithmetic, file readers) and transpiles the result.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2
from sqlglot import exp
from sqlglot.errors import ParseError

from abkit.config import EventsSource, Experiment, Source
from abkit.errors import QueryError
from abkit.resources import resource_dir
from abkit.sql.dialects import (
    Dialect,
    day_before,
    file_reader,
    microseconds_between,
    percentile_function,
    transpile,
)
from abkit.sql.safety import EVENT_COLUMNS, safe_expression
from abkit.sql.variables import (
    UnitAggregate,
    Variable,
    experiment_variables,
    metric_variables,
    novelty_day_metrics,
    shift_column,
    shifted_column,
    unit_covariate_column,
)


@functools.cache
def queries_dir() -> Path:
    """Where the SQL templates are: inside the installed package, else the repo."""
    return resource_dir("queries")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(queries_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # SQL, not HTML: every value is quoted by this module
    )


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """Render one template of `queries/` with an already-validated context."""
    try:
        return _environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound:
        raise QueryError(
            f"queries/{name}: template not found; reinstall abkit or restore the file",
            template=name,
        ) from None


@dataclass(frozen=True, slots=True)
class RenderedSource:
    """A source table as SQL: its relation text and quoted mapped columns."""

    relation: str
    columns: dict[str, str]
    extra_columns: tuple[str, ...] = ()


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier, safe for any name."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def timestamp_literal(day: dt.date) -> str:
    """A portable TIMESTAMP literal for midnight of `day`."""
    return f"CAST('{day.isoformat()} 00:00:00' AS TIMESTAMP)"


def _optional_timestamp(day: dt.date | None) -> str | None:
    """A calendar bound (e.g. of a fixed pre-period) as a literal, None when unset."""
    return timestamp_literal(day) if day is not None else None


def relation_sql(source: Source, dialect: Dialect = "duckdb") -> str:
    """`read_parquet('…')` or `read_csv_auto('…')` for files, else the table.

    Raises:
        QueryError: the dialect cannot read this file (warehouses read tables).
    """
    if source.path is not None:
        reader = file_reader(dialect, source.path)
        return f"{reader}({quote_literal(source.path)})"
    assert source.table is not None
    try:
        table = exp.to_table(source.table, dialect="duckdb")
    except (ParseError, ValueError):
        raise QueryError(
            f"data table '{source.table}' is not a valid table name; write "
            "it as name or schema.name",
            expression=source.table,
        ) from None
    return table.sql(dialect="duckdb")


def _render_source(
    source: Source, roles: Iterable[str], dialect: Dialect
) -> RenderedSource:
    columns = {}
    for role in roles:
        column = getattr(source, role)
        columns[role] = quote_identifier(column) if column else "NULL"
    extra = source.extra_columns if isinstance(source, EventsSource) else ()
    return RenderedSource(
        relation_sql(source, dialect), columns, tuple(map(quote_identifier, extra))
    )


def source_context(
    experiment: Experiment, dialect: Dialect = "duckdb"
) -> dict[str, Any]:
    """The template parameters of sources.sql (and the dialect's day arithmetic)."""
    data = experiment.data
    units = data.units
    return {
        "assignments": _render_source(
            data.assignments, ("unit_id", "variant", "timestamp"), dialect
        ),
        "events": _render_source(
            data.events,
            ("unit_id", "timestamp", "event", "value", "partner_id"),
            dialect,
        ),
        "units": _render_source(units, ("unit_id",), dialect) if units else None,
        "day_before": functools.partial(day_before, dialect),
        "microseconds_between": functools.partial(microseconds_between, dialect),
        "segments": [
            {"column": quote_identifier(name), "alias": segment_column(name)}
            for name in experiment.segments
        ],
        "unit_covariates": [
            {"column": quote_identifier(name), "alias": unit_covariate_column(name)}
            for name in experiment.cuped.unit_covariates
        ],
        "units_joined": bool(experiment.segments or experiment.cuped.unit_covariates),
        "window_start": timestamp_literal(experiment.start)
        if experiment.start
        else None,
        "window_end": timestamp_literal(experiment.end) if experiment.end else None,
    }


def segment_column(segment: str) -> str:
    """Output column of a segment attribute in moments.sql."""
    return f"segment__{segment}"


def known_event_columns(experiment: Experiment) -> tuple[str, ...]:
    """Columns a metric expression may reference."""
    return EVENT_COLUMNS + experiment.data.events.extra_columns


def _measure_context(
    aggregate: UnitAggregate, metric: str, columns: tuple[str, ...]
) -> dict[str, Any]:
    measure = aggregate.measure
    where = f"metric '{metric}'"
    return {
        "column": aggregate.column,
        "events": [quote_literal(e) for e in measure.events],
        "value": safe_expression(measure.value, columns, f"{where} value"),
        "filter": (
            safe_expression(measure.filter, columns, f"{where} filter")
            if measure.filter
            else None
        ),
        "aggregate": measure.aggregate,
        "lower": aggregate.lower,
        "upper": aggregate.upper,
        "since": _optional_timestamp(aggregate.since),
        "until": _optional_timestamp(aggregate.until),
    }


def analysis_context(
    experiment: Experiment, shift_days: int = 0, dialect: Dialect = "duckdb"
) -> dict[str, Any]:
    """Every parameter of analysis.sql, user expressions validated.

    `shift_days` > 0 renders the planning variant: every window moved into the past.
    """
    columns = known_event_columns(experiment)
    plans = experiment_variables(experiment, shift_days)
    pre, shift = experiment.pre_period, dt.timedelta(days=shift_days)
    if not shift_days:
        plans += tuple(
            metric_variables(m, experiment.pre_period_days)
            for m in novelty_day_metrics(experiment)
        )
    aggregates, same_as = _distinct_aggregates(
        [
            _measure_context(a, p.metric.name, columns)
            for p in plans
            for a in p.aggregates
        ]
    )
    uppers = [a["upper"] for a in aggregates]
    capped = tuple(p.metric.name for p in plans if p.caps)
    return source_context(experiment, dialect) | {
        "percentile_function": percentile_function(dialect, capped) if capped else None,
        "columns": aggregates,
        "scan_lower": min(
            [a["lower"] for a in aggregates] + [-experiment.pre_period_days]
        ),
        "pre_period_days": experiment.pre_period_days,
        "pre_since": _optional_timestamp(pre.start - shift if pre else None),
        "pre_until": _optional_timestamp(pre.end - shift if pre else None),
        "scan_since": min(
            (a["since"] for a in aggregates if a["since"] is not None), default=None
        ),
        "scan_upper": None if None in uppers else max(uppers),
        "caps": [
            asdict(c) | {"source_column": same_as.get(c.source_column, c.source_column)}
            for p in plans
            for c in p.caps
        ],
        "variables": [
            _variable_context(v, same_as) for p in plans for v in p.variables
        ],
        "metrics": [
            {
                "name": p.metric.name,
                "variables": [_variable_context(v, same_as) for v in p.variables],
                "pairs": [
                    {
                        "left": _variable_context(a, same_as),
                        "right": _variable_context(b, same_as),
                        "column": column,
                        "shifted": shifted_column(column),
                    }
                    for a, b, column in p.pairs()
                ],
            }
            for p in plans
        ],
        "variants": [quote_literal(v) for v in experiment.variants],
        "count_columns": COUNT_COLUMNS,
        "data_end_needed": any(
            v.end_day is not None for p in plans for v in p.variables
        )
        or any(c.end_day is not None for p in plans for c in p.caps),
    }


COUNT_COLUMNS = (
    "n_units",
    "units_without_events",
    "units_with_events_before",
    "units_without_pre_period",
)
"""The unit counts of moments.sql, rolled up from its finest cells."""


def _distinct_aggregates(
    aggregates: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Each per-unit aggregate once, and which columns repeat an earlier one.

    A repeat (a novelty day's pre-period, another metric's identical measure) reads
    the first one's column instead of aggregating the events again.
    """
    first: dict[str, str] = {}
    distinct, same_as = [], {}
    for aggregate in aggregates:
        key = repr({k: v for k, v in aggregate.items() if k != "column"})
        if key in first:
            same_as[aggregate["column"]] = first[key]
        else:
            first[key] = aggregate["column"]
            distinct.append(aggregate)
    return distinct, same_as


def _variable_context(variable: Variable, same_as: Mapping[str, str]) -> dict[str, Any]:
    """A variable with the names of its shift and of its raw and shifted sums."""
    column = variable.column
    source = variable.source
    if variable.table == "u":
        source = same_as.get(source, source)
    return asdict(variable) | {
        "source": source,
        "shift": shift_column(column),
        "sum": f"{column}__sum",
        "sum_sq": f"{column}__sum_sq",
        "shifted_sum": shifted_column(f"{column}__sum"),
        "shifted_sum_sq": shifted_column(f"{column}__sum_sq"),
    }


def in_dialect(sql: str, dialect: Dialect) -> str:
    """Rendered DuckDB-flavoured SQL written in `dialect` (unchanged for DuckDB)."""
    return sql if dialect == "duckdb" else transpile(sql, dialect)


def render_analysis_sql(
    experiment: Experiment, shift_days: int = 0, dialect: Dialect = "duckdb"
) -> str:
    """The fused moments query of an experiment, in `dialect`."""
    context = analysis_context(experiment, shift_days, dialect)
    return in_dialect(render_template("analysis.sql", context), dialect)


def render_analysis_and_health_sql(experiment: Experiment) -> str:
    """A DuckDB analysis's one statement: the moments and the exposure health rows.

    DuckDB only: Postgres plans the fused shape (a FULL JOIN ON FALSE over shared
    CTEs) several times slower than the two queries apart, so other engines run
    analysis.sql and exposure_health.sql.
    """
    context = analysis_context(experiment) | {
        "assignment_units": True,
        "not_materialized": True,
    }
    return render_template("analysis_and_health.sql", context)


def render_health_sql(experiment: Experiment, dialect: Dialect = "duckdb") -> str:
    """The exposure health query of an experiment, in `dialect`."""
    sql = render_template("exposure_health.sql", source_context(experiment, dialect))
    return in_dialect(sql, dialect)


def render_daily_exposures_sql(
    experiment: Experiment, dialect: Dialect = "duckdb"
) -> str:
    """New exposures per variant and day, in `dialect`."""
    variants = [quote_literal(v) for v in experiment.variants]
    context = source_context(experiment, dialect) | {"variants": variants}
    return in_dialect(render_template("daily_exposures.sql", context), dialect)


def render_all_sql(
    experiment: Experiment, dialect: Dialect = "duckdb"
) -> dict[str, str]:
    """The queries of an analysis by name, in `dialect`, in the order they run.

    On DuckDB the moments and the exposure health rows come from one statement
    (`moments`), elsewhere from two (`moments`, `exposure_health`); the
    day-since-exposure view is columns of the moments, and new exposures per day
    are rolled up from the per-day health rows.
    """
    queries = (
        {"moments": render_analysis_and_health_sql(experiment)}
        if dialect == "duckdb"
        else {
            "moments": render_analysis_sql(experiment, dialect=dialect),
            "exposure_health": render_health_sql(experiment, dialect),
        }
    )
    contamination = render_contamination_sql(experiment, dialect)
    if contamination is not None:
        queries["contamination"] = contamination
    return queries


def render_contamination_sql(
    experiment: Experiment, dialect: Dialect = "duckdb"
) -> str | None:
    """Cross-arm interaction counts, or None without a mapped partner column."""
    if not experiment.data.events.partner_id or not experiment.interaction_events:
        return None
    context = source_context(experiment, dialect) | {
        "variants": [quote_literal(v) for v in experiment.variants],
        "interaction_events": [quote_literal(e) for e in experiment.interaction_events],
    }
    return in_dialect(render_template("contamination.sql", context), dialect)
