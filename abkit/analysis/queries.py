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
    render_analysis_sql,
    render_contamination_sql,
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
        moments = engine.query(render_analysis_sql(experiment))
        exposure_days = engine.query(render_health_sql(experiment))
        return QueryResults(
            moments=moments,
            exposure_health=exposure_health(exposure_days),
            daily_exposures=daily_exposures(exposure_days, experiment),
            contamination=engine.query(contamination_sql)
            if contamination_sql
            else None,
            novelty=moments if novelty_experiment(experiment) else None,
        )


def exposure_health(exposure_days: pd.DataFrame) -> pd.DataFrame:
    """exposure_health.sql's per-day rows rolled up to variant x multiple_variants."""
    keys = ["variant", "multiple_variants"]
    rolled: pd.DataFrame = (
        exposure_days.groupby(keys, dropna=False, sort=False)
        .agg(
            n_units=("n_units", "sum"),
            n_rows=("n_rows", "sum"),
            first_exposure=("first_exposure", "min"),
            last_exposure=("last_exposure", "max"),
            last_event=("last_event", "max"),
        )
        .reset_index()
    )
    return rolled


def daily_exposures(
    exposure_days: pd.DataFrame, experiment: Experiment
) -> pd.DataFrame:
    """New units per exposure day and configured variant (daily_exposures.sql)."""
    single = exposure_days[
        ~exposure_days["multiple_variants"].astype(bool)
        & exposure_days["variant"].isin(list(experiment.variants))
    ]
    counts: pd.DataFrame = (
        single.groupby(["exposure_day", "variant"], as_index=False)["n_units"]
        .sum()
        .sort_values(["exposure_day", "variant"], ignore_index=True)
    )
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
