"""Golden SQL: the queries an analysis runs, per dialect, kept under fixtures/.

Regenerate after an intended change with `python -m pytest tests/sql --update-golden`
and review the diff like code. A golden file is not the only check of a dialect:
tests/sql/test_dialect_rules.py checks each dialect's known rules and
tests/engines/ executes the Spark and Postgres SQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from abkit.analysis.query_plan import QUERY_NAMES, analysis_queries
from abkit.config import Experiment, load_experiment
from abkit.sql.dialects import DIALECTS, dialect_rules, transpile

FIXTURES = Path(__file__).parent / "fixtures"


def without_winsorized(experiment: Experiment) -> Experiment:
    """The experiment minus its winsorized metrics (for approximate-only dialects)."""
    metrics = tuple(m for m in experiment.metrics if m.winsorize is None)
    return experiment.model_copy(update={"metrics": metrics})


def golden_experiment(dialect: str) -> Experiment:
    experiment = load_experiment(FIXTURES / "exp.yaml")
    exact = dialect_rules(dialect).percentile is not None
    return experiment if exact else without_winsorized(experiment)


@pytest.fixture(scope="module")
def golden_queries() -> dict[str, dict[str, str]]:
    return {d: analysis_queries(golden_experiment(d), d) for d in DIALECTS}


GOLDEN_NAMES = tuple(
    name
    for name in analysis_queries(load_experiment(FIXTURES / "exp.yaml"))
    if name in QUERY_NAMES
)
"""The queries the golden experiment runs (it has no quantile metric or clusters)."""


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("query", GOLDEN_NAMES)
def test_golden_sql(golden_queries, dialect, query, request):
    sql = golden_queries[dialect][query]
    if dialect == "duckdb":  # as `abkit sql` prints it: pretty-printed by sqlglot
        sql = transpile(sql, "duckdb")
    sql += "\n"
    path = FIXTURES / dialect / f"{query}.sql"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert path.is_file(), f"missing {path}; run pytest --update-golden"
    assert sql == path.read_text()
    assert sqlglot.parse_one(sql, read=dialect) is not None


def test_duckdb_sql_is_the_rendered_template_untouched(golden_queries):
    duckdb_sql = golden_queries["duckdb"]["moments"]
    assert "QUANTILE_CONT(" in duckdb_sql
    assert "INTERVAL 1 MICROSECOND" in duckdb_sql
