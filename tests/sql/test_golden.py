"""Golden SQL: the rendered and transpiled queries per dialect, kept under fixtures/.

Regenerate after an intended change with `python -m pytest tests/sql --update-golden`
and review the diff like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from abkit.config import load_experiment
from abkit.sql.dialects import DIALECTS, transpile
from abkit.sql.render import render_all_sql

FIXTURES = Path(__file__).parent / "fixtures"
QUERIES = ("moments", "exposure_health", "daily_exposures", "contamination")


@pytest.fixture(scope="module")
def golden_queries() -> dict[str, str]:
    return render_all_sql(load_experiment(FIXTURES / "exp.yaml"))


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("query", QUERIES)
def test_golden_sql(golden_queries, dialect, query, request):
    sql = transpile(golden_queries[query], dialect) + "\n"
    path = FIXTURES / dialect / f"{query}.sql"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert path.is_file(), f"missing {path}; run pytest --update-golden"
    assert sql == path.read_text()
    assert sqlglot.parse_one(sql, read=dialect) is not None
