"""Analyse one experiment: the recipe from exp.yaml to a tested, decided result.

1. load and validate the experiment (`abkit.config`);
2. run its queries on a locked-down engine, which reduce the event log to
   per-variant, per-segment and per-day moments (`abkit.analysis.queries`);
3. read the moments back, compare the arms, check the data's health and apply the
   pre-registered decision rules (`abkit.analysis.assembly`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from abkit.analysis.assembly import build_result
from abkit.analysis.queries import EngineChoice, run_queries
from abkit.analysis.results import AnalysisResult
from abkit.config import CorrectionMethod, Experiment, load_experiment


def analyze(
    experiment: Experiment | str | Path,
    *,
    con: Any = None,
    as_of: dt.date | None = None,
    cuped: bool | None = None,
    correction: CorrectionMethod | None = None,
    engine: str | None = None,
    spark_master: str | None = None,
    dsn: str | None = None,
) -> AnalysisResult:
    """Analyse an experiment end to end.

    Args:
        experiment: a loaded `Experiment` or the path of its exp.yaml.
        con: run on this connection (its tables, named by `table:` in exp.yaml)
            instead of a private, locked-down DuckDB: a DuckDB connection, a
            `SparkSession` or a psycopg connection; its kind picks the engine.
        engine: without `con`, the engine to open: duckdb, spark or postgres
            (None: exp.yaml's `engine:`, DuckDB by default).
        spark_master: the Spark master when abkit starts Spark (default local[2]).
        dsn: the Postgres connection string (default: libpq's PG* environment).
        as_of: analyse only data before this date, as if run that morning.
        cuped: override exp.yaml's `cuped.enabled` (None keeps the file's choice).
        correction: override the decision rules' multiple-testing correction.

    Raises:
        AbkitError: bad configuration or data, with a one-line message naming the fix.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    experiment = with_options(experiment, as_of=as_of, cuped=cuped)
    choice = EngineChoice(con, engine, spark_master, dsn)
    frames = run_queries(experiment, choice=choice)
    return build_result(experiment, frames, correction)


def with_options(
    experiment: Experiment, *, as_of: dt.date | None, cuped: bool | None
) -> Experiment:
    """The experiment cut off at `as_of` and with CUPED switched as asked."""
    if as_of is not None:
        experiment = experiment.with_end(as_of)
    if cuped is not None:
        settings = experiment.cuped.model_copy(update={"enabled": cuped})
        experiment = experiment.model_copy(update={"cuped": settings})
    return experiment
