"""Render queries/cluster_moments.sql for a cluster-randomized experiment."""

from __future__ import annotations

from typing import Any

from abkit.config import Experiment
from abkit.sql.render import (
    analysis_context,
    quote_identifier,
    relation_sql,
    render_template,
)
from abkit.sql.variables import experiment_variables, variable_column


def cluster_context(experiment: Experiment) -> dict[str, Any] | None:
    """The cluster column of the assignments as SQL, or None without one."""
    assignments = experiment.data.assignments
    if assignments.cluster is None:
        return None
    return {
        "relation": relation_sql(assignments),
        "unit_id": quote_identifier(assignments.unit_id),
        "column": quote_identifier(assignments.cluster),
    }


def render_cluster_sql(experiment: Experiment, shift_days: int = 0) -> str | None:
    """Per-arm cluster sums of every moment metric, or None when units are randomized.

    `shift_days` > 0 renders the planning variant: every window moved into the past.
    """
    cluster = cluster_context(experiment)
    if cluster is None:
        return None
    metrics = [
        {
            "name": plan.metric.name,
            "value": variable_column(plan.metric.name, "value"),
            "den": variable_column(plan.metric.name, "den")
            if plan.metric.kind == "ratio"
            else None,
        }
        for plan in experiment_variables(experiment)
        if plan.metric.kind != "quantile"
    ]
    context = analysis_context(experiment, shift_days) | {
        "cluster": cluster,
        "cluster_metrics": metrics,
    }
    return render_template("cluster_moments.sql", context)
