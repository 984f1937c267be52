"""Render queries/quantiles.sql: per-arm quantiles and their order-statistic bounds.

Only quantile metrics (`kind: quantile`) enter this query; it runs beside the
moments query and returns one small row per metric and arm (see the template's
header and `abkit.stats.quantile`).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

from abkit.config import Experiment, Metric
from abkit.sql.render import (
    analysis_context,
    known_event_columns,
    quote_literal,
    render_template,
)
from abkit.sql.safety import safe_expression
from abkit.sql.variables import variable_column


def quantile_metrics(experiment: Experiment) -> tuple[Metric, ...]:
    """The experiment's quantile metrics, in metric order."""
    return tuple(m for m in experiment.metrics if m.kind == "quantile")


def quantile_z(alpha: float) -> float:
    """The two-sided normal critical value the bound ranks are computed with."""
    return NormalDist().inv_cdf(1 - alpha / 2)


def _metric_context(metric: Metric, columns: tuple[str, ...]) -> dict[str, Any]:
    where = f"metric '{metric.name}'"
    window = metric.effective_window
    return {
        "name": quote_literal(metric.name),
        "column": variable_column(metric.name, "value"),
        "p": repr(metric.quantile),
        "level": metric.level,
        "interval": metric.interval,
        "events": [quote_literal(e) for e in metric.events or ()],
        "value": safe_expression(metric.value, columns, f"{where} value"),
        "filter": safe_expression(metric.filter, columns, f"{where} filter")
        if metric.filter
        else None,
        "start_day": window.start_day,
        "end_day": window.end_day,
    }


def quantile_context(experiment: Experiment) -> dict[str, Any] | None:
    """The template parameters of the quantile metrics, or None without any."""
    metrics = quantile_metrics(experiment)
    if not metrics:
        return None
    columns = known_event_columns(experiment)
    return {
        "quantile_metrics": [_metric_context(m, columns) for m in metrics],
        "z": repr(quantile_z(experiment.alpha)),
    }


def render_quantiles_sql(experiment: Experiment) -> str | None:
    """The quantile query of an experiment, or None without quantile metrics."""
    context = quantile_context(experiment)
    if context is None:
        return None
    return render_template("quantiles.sql", analysis_context(experiment) | context)
