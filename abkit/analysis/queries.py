"""The analysis queries run on a locked-down engine, after the sources were checked.

Every mapped column is checked before any query runs, so a typo in exp.yaml's column
mapping is one `DataError` naming the column and the closest one the source has,
instead of an engine traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pandas as pd

from abkit.analysis.novelty import novelty_experiment
from abkit.config import Experiment, Source
from abkit.engines.duckdb import DuckDBEngine
from abkit.errors import DataError
from abkit.sql.render import (
    quote_identifier,
    relation_sql,
    render_analysis_sql,
    render_contamination_sql,
    render_daily_exposures_sql,
    render_health_sql,
)


@dataclass(frozen=True, slots=True)
class QueryResults:
    """The small frames the SQL layer returns for one analysis."""

    moments: pd.DataFrame
    exposure_health: pd.DataFrame
    daily_exposures: pd.DataFrame
    contamination: pd.DataFrame | None
    novelty: pd.DataFrame | None = None


@contextmanager
def locked_engine(
    experiment: Experiment,
    connection: duckdb.DuckDBPyConnection | None = None,
    *,
    checked: bool = True,
) -> Iterator[DuckDBEngine]:
    """An engine that reads only the experiment's sources, closed after.

    The engine is locked down before anything runs (even the schema reads), so a
    source cannot make it read a file the lock would refuse. `checked` then checks
    the mapped columns and refuses NaN or infinite event values (`abkit validate`
    turns it off to report every problem instead of the first).
    """
    engine = DuckDBEngine(connection)
    try:
        engine.lock_down(experiment_sources(experiment), time_zone=experiment.time_zone)
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


def bad_value_counts(engine: DuckDBEngine, experiment: Experiment) -> tuple[int, int]:
    """How many event values are NaN and how many ±inf (0, 0 without a value column)."""
    source = experiment.data.events
    if not source.value:
        return 0, 0
    value = f"TRY_CAST({quote_identifier(source.value)} AS DOUBLE)"
    counts = engine.query(
        f"SELECT count(*) FILTER (WHERE isnan({value})) AS nan, "
        f"count(*) FILTER (WHERE isinf({value})) AS inf FROM {relation_sql(source)}"
    )
    return int(counts["nan"].iloc[0]), int(counts["inf"].iloc[0])


def refuse_bad_values(engine: DuckDBEngine, experiment: Experiment) -> None:
    """Refuse NaN and ±inf event values: they would be silently wrong numbers.

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
