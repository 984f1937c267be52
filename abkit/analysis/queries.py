"""The analysis queries run on a checked (and, for DuckDB, locked-down) engine.

Every mapped column is checked before any query runs, so a typo in exp.yaml's column
mapping is one `DataError` naming the column and the closest one the source has,
instead of an engine traceback. The queries are rendered in the engine's dialect, in
the order `analysis_queries` lists them (what `abkit sql` prints).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from abkit.aggregates.rows import (
    Row,
    Rows,
    as_date,
    decimals_as_floats,
    is_null,
    table_rows,
)
from abkit.analysis.day_split import novelty_experiment
from abkit.analysis.query_plan import analysis_queries
from abkit.config import Experiment, Source
from abkit.engines import Engine, open_engine
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import DataError
from abkit.sql.dialects import is_nan
from abkit.sql.render import in_dialect, quote_identifier, relation_sql

if TYPE_CHECKING:  # quantile and cluster rows only: a plain analysis never loads pandas
    import pandas as pd


@dataclass(frozen=True, slots=True)
class QueryResults:
    """The small results the SQL layer returns for one analysis, and who ran them.

    Rows of plain values where the readers go row by row (moments, health,
    contamination); pandas frames for the per-unit-bucket quantile and cluster rows,
    which their readers group and sort.
    """

    moments: Rows
    exposure_health: Rows
    daily_exposures: Rows
    contamination: Rows | None
    novelty: Rows | None = None
    quantiles: pd.DataFrame | None = None
    clusters: pd.DataFrame | None = None
    engine: str = "duckdb"
    dialect: str = "duckdb"


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """Where to run: a user's connection, or the engine to open and its settings."""

    con: Any = None
    engine: str | None = None
    spark_master: str | None = None
    dsn: str | None = None


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    """An engine's Arrow result as a pandas frame (Arrow imports pandas on first use)."""
    frame: pd.DataFrame = decimals_as_floats(table).to_pandas(date_as_object=False)
    return frame


def query_frame(engine: Engine, sql: str) -> pd.DataFrame:
    """Run one query on `engine` and return its result as pandas."""
    return arrow_frame(engine.query(sql))


def query_rows(engine: Engine, sql: str) -> Rows:
    """Run one query on `engine` and return its rows as Python values."""
    return table_rows(engine.query(sql))


@contextmanager
def locked_engine(
    experiment: Experiment,
    connection: Any = None,
    choice: EngineChoice | None = None,
    *,
    checked: bool = True,
    workspace: Sequence[str] = (),
) -> Iterator[Engine]:
    """An engine that reads only the experiment's sources, closed after.

    `connection` (or `choice.con`) picks the engine by its type; otherwise
    `choice.engine`, else exp.yaml's `engine:` (DuckDB by default). A DuckDB engine
    is locked down before anything runs (even the schema reads), so a source cannot
    make it read a file the lock would refuse. `checked` then checks the mapped
    columns and refuses NaN or infinite event values (`abkit validate` turns it off
    to report every problem instead of the first). `workspace` files (the refresh
    state abkit keeps itself) are readable and writable too.
    """
    choice = choice or EngineChoice()
    con = connection if connection is not None else choice.con
    engine = open_engine(
        con,
        engine=choice.engine if con is not None else choice.engine or experiment.engine,
        spark_master=choice.spark_master,
        dsn=choice.dsn,
    )
    try:
        if isinstance(engine, DuckDBEngine):
            engine.lock_down(
                experiment_sources(experiment),
                time_zone=experiment.time_zone,
                workspace=workspace,
            )
        if checked:
            check_columns(engine, experiment)
            refuse_bad_values(engine, experiment)
        yield engine
    finally:
        engine.close()


def experiment_sources(experiment: Experiment) -> list[Source]:
    """The experiment's declared sources (assignments, events, units if given)."""
    data = experiment.data
    return [s for s in (data.assignments, data.events, data.units) if s is not None]


def bad_value_counts(engine: Engine, experiment: Experiment) -> tuple[int, int]:
    """How many event values are NaN and how many ±inf (0, 0 without a value column)."""
    source = experiment.data.events
    if not source.value:
        return 0, 0
    value = f"TRY_CAST({quote_identifier(source.value)} AS DOUBLE)"
    infinite = " OR ".join(f"{value} = CAST('{v}' AS DOUBLE)" for v in INFINITIES)
    nan = is_nan(engine.dialect, value)
    # COUNT FILTER, not SUM(CASE ...): DuckDB's Parquet reader gives 0 NaN for the latter
    sql = (
        f"SELECT COUNT(*) FILTER (WHERE {nan}) AS nan,"
        f" COUNT(*) FILTER (WHERE {infinite}) AS inf"
        f" FROM {relation_sql(source, engine.dialect)}"
    )
    (counts,) = query_rows(engine, in_dialect(sql, engine.dialect))
    return _count(counts["nan"]), _count(counts["inf"])


INFINITIES = ("Infinity", "-Infinity")


def _count(value: object) -> int:
    """A SUM over no rows is NULL: no bad values."""
    return 0 if is_null(value) else int(value)  # type: ignore[call-overload]


def refuse_bad_values(engine: Engine, experiment: Experiment) -> None:
    """Refuse NaN and ±inf event values: they would be silently wrong numbers.

    A query of its own, before the analysis query, on purpose: it checks the
    whole value column (what `abkit validate` reports), while the analysis scan
    reads only the exposed units' windows, so folding the counts into it would
    let a NaN outside today's windows through until a later look reads it; and
    bad data fails here before the long query runs. It reads one column: 0.11 s
    of CPU at 10M events, about 1% of the analysis.

    Raises:
        DataError: naming the column, the counts and the fix.
    """
    nan, inf = bad_value_counts(engine, experiment)
    if nan or inf:
        column = experiment.data.events.value
        raise DataError(
            f"data.events.value '{column}' holds {nan:,} NaN and {inf:,} infinite "
            "values; replace them with NULL (no value) or real numbers, or drop "
            "those rows (`abkit validate` lists the data's problems)"
        )


def run_queries(
    experiment: Experiment, connection: Any = None, choice: EngineChoice | None = None
) -> QueryResults:
    """Check the sources, lock the engine down and run the analysis queries."""
    with locked_engine(experiment, connection, choice) as engine:
        queries = analysis_queries(experiment, engine.dialect)
        tables = {name: engine.query(sql) for name, sql in queries.items()}
        moments, exposure_days = (
            split_health(table_rows(tables["moments"]))
            if "exposure_health" not in tables
            else (table_rows(tables["moments"]), table_rows(tables["exposure_health"]))
        )
        return QueryResults(
            moments=moments,
            exposure_health=exposure_health(exposure_days),
            daily_exposures=daily_exposures(exposure_days, experiment),
            contamination=_optional(tables, "contamination", table_rows),
            novelty=moments if novelty_experiment(experiment) else None,
            quantiles=_optional(tables, "quantiles", arrow_frame),
            clusters=_optional(tables, "clusters", arrow_frame),
            engine=engine.name,
            dialect=engine.dialect,
        )


def _optional(tables: dict[str, pa.Table], name: str, read: Any) -> Any:
    """A query's result read by `read`, None when the analysis did not run it."""
    return read(tables[name]) if name in tables else None


HEALTH_PREFIX = "health__"
"""analysis_and_health.sql's prefix of the exposure health columns."""


def split_health(rows: Rows) -> tuple[Rows, Rows]:
    """The fused statement's rows as (moments rows, exposure health rows).

    Each row holds one part, NULLs in the other's columns; a health row is one
    whose health__n_units (a count, never NULL there) is set.
    """
    marker = HEALTH_PREFIX + "n_units"
    start = len(HEALTH_PREFIX)
    moments: Rows = []
    health: Rows = []
    for row in rows:
        if row[marker] is None:
            moments.append(
                {k: v for k, v in row.items() if not k.startswith(HEALTH_PREFIX)}
            )
        else:
            health.append(
                {k[start:]: v for k, v in row.items() if k.startswith(HEALTH_PREFIX)}
            )
    return moments, health


HEALTH_KEYS = ("variant", "multiple_variants")


def exposure_health(exposure_days: Rows) -> Rows:
    """exposure_health.sql's per-day rows rolled up to variant x multiple_variants."""
    rolled: dict[tuple[Any, ...], Row] = {}
    for row in exposure_days:
        key = tuple(row[k] for k in HEALTH_KEYS)
        into = rolled.get(key)
        if into is None:
            rolled[key] = {k: row[k] for k in (*HEALTH_KEYS, *ROLLUPS)}
            continue
        for column, combine in ROLLUPS.items():
            into[column] = combine(into[column], row[column])
    return list(rolled.values())


def _least(left: Any, right: Any) -> Any:
    present = [v for v in (left, right) if not is_null(v)]
    return min(present) if present else None


def _greatest(left: Any, right: Any) -> Any:
    present = [v for v in (left, right) if not is_null(v)]
    return max(present) if present else None


def _total(left: Any, right: Any) -> Any:
    return (0 if is_null(left) else left) + (0 if is_null(right) else right)


ROLLUPS = {
    "n_units": _total,
    "n_rows": _total,
    "first_exposure": _least,
    "last_exposure": _greatest,
    "last_event": _greatest,
}
"""How each exposure_health column rolls up over the exposure days."""


def daily_exposures(exposure_days: Rows, experiment: Experiment) -> Rows:
    """New units per exposure day and configured variant (daily_exposures.sql)."""
    counts: dict[tuple[Any, str], int] = {}
    for row in exposure_days:
        if row["multiple_variants"] or row["variant"] not in experiment.variants:
            continue
        key = (as_date(row["exposure_day"]), row["variant"])
        counts[key] = counts.get(key, 0) + int(row["n_units"])
    return [
        {"exposure_day": day, "variant": variant, "n_units": n}
        for (day, variant), n in sorted(counts.items())
    ]


def check_columns(engine: Engine, experiment: Experiment) -> None:
    """Every mapped column exists in its source, or a DataError naming the fix."""
    data = experiment.data
    roles: dict[str, tuple[Source | None, tuple[str, ...]]] = {
        "assignments": (
            data.assignments,
            ("unit_id", "variant", "timestamp", "cluster"),
        ),
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
