"""abkit: A/B-testing and KPI analysis over event logs.

Three calls get a notebook user going::

    import abkit
    exp = abkit.load_experiment("data/examples/exp.yaml")
    result = abkit.analyze(exp)            # print(result), result.to_frame()
    sql = abkit.render_sql(exp, dialect="bigquery")

Submodules:
    config    pydantic models for exp.yaml / metrics.yaml (the only YAML reader)
    sql       renders queries/*.sql, validates user expressions, transpiles dialects
    engines   DuckDB (default): the only code that talks to a database
    stats     pure statistics over sufficient statistics (moments, welch, delta, srm…)
    analysis  orchestrates one experiment: queries, tests, health checks
    decision  pre-registered rules: corrections, guardrails, Bayes, the verdict
    planning  sample size and duration from the experiment's own history
    monitoring  daily looks and sequential tests
    store     results history, notes and decisions (SQLite)
    results   result dataclasses; report renders them (terminal, Markdown, JSON)
    demo      the seeded dating-app event log generator
    cli       the `abkit` command line
"""

from __future__ import annotations

from abkit.analysis.planning import PlanResult as PlanResult
from abkit.analysis.planning import plan as plan
from abkit.analysis.results import AnalysisResult as AnalysisResult
from abkit.analysis.results import HealthCheck as HealthCheck
from abkit.analysis.results import MetricResult as MetricResult
from abkit.analysis.run import analyze as analyze
from abkit.config.models import Experiment as Experiment
from abkit.config.models import load_experiment as load_experiment
from abkit.errors import AbkitError as AbkitError
from abkit.errors import ConfigError as ConfigError
from abkit.errors import DataError as DataError
from abkit.errors import EngineError as EngineError
from abkit.errors import QueryError as QueryError
from abkit.errors import StoreError as StoreError
from abkit.sql.render import Dialect, render_all_sql, transpile


def render_sql(
    experiment: Experiment | str, dialect: Dialect = "duckdb", query: str = "moments"
) -> str:
    """One of the experiment's analysis queries in a warehouse dialect, pretty-printed.

    `query` is "moments" (the fused per-variant sums behind the scorecard),
    "exposure_health", "daily_exposures" or "contamination".
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    queries = render_all_sql(experiment)
    if query not in queries:
        raise QueryError(f"no query '{query}'; choose one of {', '.join(queries)}")
    return transpile(queries[query], dialect)


__all__ = [
    "AbkitError",
    "AnalysisResult",
    "ConfigError",
    "DataError",
    "EngineError",
    "Experiment",
    "HealthCheck",
    "MetricResult",
    "PlanResult",
    "QueryError",
    "StoreError",
    "analyze",
    "load_experiment",
    "plan",
    "render_sql",
]
