"""abkit: A/B-testing and KPI analysis over event logs.

Three calls get a notebook user going::

    import abkit
    exp = abkit.load_experiment("data/examples/exp.yaml")
    result = abkit.analyze(exp)            # print(result), result.to_frame()
    sql = abkit.render_sql(exp, dialect="bigquery")

The public names load on first use (PEP 562), so `import abkit` stays cheap and
pandas, DuckDB and SciPy are only imported when an analysis needs them.

Submodules, in the order data flows through them (each imports only earlier ones):
    errors, resources  the exception hierarchy; shipped files and the version
    config      pydantic models for exp.yaml / metrics.yaml (the only YAML reader)
    demo        the seeded dating-app event log generator
    sql         renders queries/*.sql, validates user expressions, transpiles dialects
    engines     DuckDB (default): the only code that talks to a database
    aggregates  moments (sufficient statistics) and the readers of query rows
    stats       pure statistics over sufficient statistics (welch, delta, srm…)
    analysis    one experiment from queries to decision: run, comparison, health,
                monitoring, decision, planning, results
    report      terminal, Markdown, JSON and HTML renderings of results
    store       results history, notes and decisions (SQLite)
    frontends   the `abkit` command line and the Streamlit app's plumbing
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from abkit.analysis.planning import PlanResult as PlanResult
    from abkit.analysis.planning import plan as plan
    from abkit.analysis.results import AnalysisResult as AnalysisResult
    from abkit.analysis.results import HealthCheck as HealthCheck
    from abkit.analysis.results import MetricResult as MetricResult
    from abkit.analysis.run import analyze as analyze
    from abkit.config import Experiment as Experiment
    from abkit.config import load_experiment as load_experiment
    from abkit.errors import AbkitError as AbkitError
    from abkit.errors import ConfigError as ConfigError
    from abkit.errors import DataError as DataError
    from abkit.errors import EngineError as EngineError
    from abkit.errors import QueryError as QueryError
    from abkit.errors import StoreError as StoreError
    from abkit.sql.dialects import Dialect

LAZY_NAMES = {
    "AbkitError": "abkit.errors",
    "AnalysisResult": "abkit.analysis.results",
    "ConfigError": "abkit.errors",
    "DataError": "abkit.errors",
    "EngineError": "abkit.errors",
    "Experiment": "abkit.config",
    "HealthCheck": "abkit.analysis.results",
    "MetricResult": "abkit.analysis.results",
    "PlanResult": "abkit.analysis.planning",
    "QueryError": "abkit.errors",
    "StoreError": "abkit.errors",
    "analyze": "abkit.analysis.run",
    "load_experiment": "abkit.config",
    "plan": "abkit.analysis.planning",
}
"""Public name -> the module that defines it, imported on first access."""
SUBMODULES = frozenset({
    "aggregates", "analysis", "config", "demo", "engines", "errors", "frontends",
    "jsonable", "report", "resources", "sql", "stats", "store",
})  # fmt: skip
"""Subpackages reachable as `abkit.<name>` after a bare `import abkit`."""


def __getattr__(name: str) -> Any:
    """Import a public name's module (or a submodule) on first access (PEP 562)."""
    if name in SUBMODULES:
        return importlib.import_module(f"abkit.{name}")
    module = LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'abkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and submodules too, although most are not loaded yet."""
    return sorted({*globals(), *LAZY_NAMES, *SUBMODULES})


def render_sql(
    experiment: Experiment | str, dialect: Dialect = "duckdb", query: str = "moments"
) -> str:
    """One of the experiment's analysis queries in a warehouse dialect, pretty-printed.

    `query` is "moments" (the one statement behind the scorecard: the fused
    per-variant sums and the exposure health rows), or "contamination",
    "quantiles" or "clusters" when the experiment has them.
    """
    from abkit.analysis.query_plan import analysis_queries
    from abkit.config import Experiment, load_experiment
    from abkit.errors import QueryError
    from abkit.sql.dialects import transpile

    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    queries = analysis_queries(experiment, dialect)
    if query not in queries:
        raise QueryError(f"no query '{query}'; choose one of {', '.join(queries)}")
    sql = queries[query]
    return transpile(sql, "duckdb") if dialect == "duckdb" else sql


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
