"""Planning a cluster-randomized experiment: every metric sized for its design effect.

With `data.assignments.cluster` set, the history's cluster sums (queries/
cluster_moments.sql with every window moved back, as for the moments) give each
metric's mean units per cluster m and intra-cluster correlation ρ (the one-way ANOVA
estimator of `abkit.stats.cluster`, both arms pooled: no treatment has touched the
history). The i.i.d. sample size is then multiplied by the design effect
1 + (m − 1)·ρ (`abkit.stats.power.clusters`), so the plan counts clusters. A
negative ρ estimate is planned as 0: no design is planned smaller than i.i.d.
For ratio metrics, whose ANOVA ICC of the numerator is not the ratio's, the design
effect is measured directly, the cluster-robust variance of the history's ratio over
its i.i.d. delta-method variance, and ρ is the one it implies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Protocol

from abkit.analysis.clusters import ClusterArms, overall_rows, read_cluster_arms
from abkit.config import Experiment, Metric
from abkit.stats.cluster import ClusterArm, cluster_variance, icc
from abkit.stats.power import MetricModel, PowerResult, duration_days, mde_for_duration
from abkit.stats.power.clusters import cluster_size, implied_icc

if TYPE_CHECKING:  # pandas is imported only where a frame is built
    import pandas as pd


@dataclass(frozen=True, slots=True)
class ClusterHistory:
    """One metric's clustering in the history: m, ρ and the design effect's source.

    Attributes:
        clusters: clusters with at least one analysed unit (both arms).
        units_per_cluster: m, mean analysed units per cluster.
        icc: ρ planned for (≥ 0).
    """

    clusters: int
    units_per_cluster: float
    icc: float


def pooled_arm(arms: Mapping[str, ClusterArm]) -> ClusterArm | None:
    """The cluster sums of all arms added up (None without any arm)."""
    if not arms:
        return None
    values = [
        sum(getattr(arm, f.name) for arm in arms.values()) for f in fields(ClusterArm)
    ]
    return ClusterArm(*values)


def history_cluster_arms(
    experiment: Experiment, frame: pd.DataFrame | None
) -> ClusterArms | None:
    """The history's cluster sums per metric and arm (None when units are randomized)."""
    return None if frame is None else read_cluster_arms(experiment, frame)


def cluster_history(
    metric: Metric, arms: ClusterArms | None, std: float
) -> ClusterHistory | None:
    """The metric's m and ρ from the history's cluster sums (None if undefined).

    Args:
        metric: the metric.
        arms: the history's cluster sums per metric and arm (None: not clustered).
        std: the metric's per-unit standard deviation in the history (for a ratio
            metric the delta-method one), for the measured design effect.
    """
    if arms is None:
        return None
    pooled = pooled_arm(arms.get(metric.name, {}))
    if pooled is None or pooled.clusters < 2 or pooled.units < 2:
        return None
    m = pooled.units / pooled.clusters
    if metric.kind != "ratio":
        rho = icc(pooled)
        if math.isnan(rho):
            return None
        return ClusterHistory(pooled.clusters, m, max(rho, 0.0))
    iid = std**2 / pooled.units
    deff = cluster_variance(pooled) / iid if iid > 0 else math.nan
    rho = implied_icc(deff, m)
    if math.isnan(rho):
        return None
    return ClusterHistory(pooled.clusters, m, min(max(rho, 0.0), 1.0))


def clustered_counts(
    model: MetricModel,
    sized: PowerResult,
    history: ClusterHistory,
    days: int,
    daily_units: float,
) -> dict[str, Any]:
    """A plan row's sizes for the design effect: units, clusters, days, reachable MDE.

    Args:
        model: the metric's per-unit variance model.
        sized: the unit-randomized (i.i.d.) plan for the target MDE.
        history: the metric's m and ρ in the history.
        days: duration of the "MDE reachable" column.
        daily_units: new exposed units a day.
    """
    size = cluster_size(sized.n_exact, history.units_per_cluster, history.icc)
    clustered = replace(
        sized.design, inflation=sized.design.inflation * size.design_effect
    )
    reachable = mde_for_duration(
        model, days, daily_units, mde_type="relative", design=clustered
    )
    return {
        "n_per_arm": size.units_per_arm[0],
        "n_total": size.units_total,
        "days": duration_days(size.units_total, daily_units),
        "mde_in_days": reachable.mde,
        "design_effect": size.design_effect,
        "icc": history.icc,
        "units_per_cluster": history.units_per_cluster,
        "n_clusters": size.clusters_total,
    }


def history_clusters(frame: pd.DataFrame | None) -> int:
    """Clusters in the history's cluster sums, over all arms (0 without clusters)."""
    return 0 if frame is None else int(overall_rows(frame)["clusters"].sum())


class ClusteredRow(Protocol):
    """The fields of a plan row that `cluster_plan_lines` reads."""

    @property
    def metric(self) -> str:
        """The metric's name."""

    @property
    def status(self) -> str:
        """The row's status, "ok" when the metric was sized."""

    @property
    def design_effect(self) -> float:
        """1 + (m − 1)·ρ (NaN when units are randomized)."""

    @property
    def icc(self) -> float:
        """ρ planned for."""

    @property
    def units_per_cluster(self) -> float:
        """m, mean analysed units per cluster in the history."""

    @property
    def n_clusters(self) -> int:
        """Clusters needed over all arms."""


def cluster_plan_lines(
    cluster: str | None, history_clusters: int, rows: Sequence[ClusteredRow]
) -> list[str]:
    """Per metric: design effect, ρ, m and the clusters needed against the history's.

    Args:
        cluster: the randomization column (None when units are randomized).
        history_clusters: clusters seen in the history (both arms).
        rows: the plan's rows.
    """
    if cluster is None:
        return []
    lines = [
        f"randomized by {cluster}: units sized x design effect 1 + (m - 1)·ICC, "
        f"clusters = units / m; {history_clusters:,} clusters in the history"
    ]
    for row in rows:
        if row.status != "ok" or math.isnan(row.design_effect):
            continue
        short = (
            " (more than the history has)" if row.n_clusters > history_clusters else ""
        )
        lines.append(
            f"  {row.metric}: design effect {row.design_effect:.2f} (ICC {row.icc:.3f}, "
            f"m = {row.units_per_cluster:,.1f} units per cluster): "
            f"{row.n_clusters:,} clusters{short}"
        )
    return lines
