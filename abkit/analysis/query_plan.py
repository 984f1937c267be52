"""Every query an analysis runs, by name, in the order it runs them.

Light on purpose (configuration and templates only, no data frame or statistics
library), so that `abkit sql` prints exactly what `abkit analyze` runs, quickly.
"""

from __future__ import annotations

from abkit.config import Experiment
from abkit.sql.clusters import render_cluster_sql
from abkit.sql.dialects import Dialect, transpile
from abkit.sql.quantiles import render_quantiles_sql
from abkit.sql.render import render_all_sql

QUERY_NAMES = (
    "moments",
    "exposure_health",
    "contamination",
    "quantiles",
    "clusters",
)
"""The names, in run order; contamination, quantile and cluster queries only when
they apply. On DuckDB `moments` also returns the exposure health rows (one
statement), so there is no `exposure_health` query."""


def analysis_queries(
    experiment: Experiment, dialect: Dialect = "duckdb"
) -> dict[str, str]:
    """The analysis's queries in `dialect`, in run order.

    `contamination` needs a mapped partner column; `day_since_exposure` (the
    primary metric per day since exposure, behind the novelty view) a short
    windowed mean or proportion as primary metric.
    """
    queries = render_all_sql(experiment, dialect)
    for name, sql in (
        ("quantiles", render_quantiles_sql(experiment)),
        ("clusters", render_cluster_sql(experiment)),
    ):
        if sql is not None:
            queries[name] = sql if dialect == "duckdb" else transpile(sql, dialect)
    return queries
