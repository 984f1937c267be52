"""Daily looks of a cluster-randomized design: cluster-robust, like the scorecard.

queries/cluster_moments.sql returns, per variant and exposure key, the increments of
the cluster sums (Σ_c Y_c², Σ_c D_c², Σ_c Y_c·D_c, new clusters, ΣY, ΣD, ...) as the
cluster's units with that key join it. Their running sum over the keys up to a
look's last key is the cluster sums over exactly the units that look holds (the
same units as a unit-randomized design's look: `abkit.analysis.monitoring`), so each
look is the scorecard's cluster-robust test (`abkit.analysis.clusters`) on that
morning's units, and the sequential tests run on these estimates with information
1/SE² of the cluster-robust cumulative estimate.

A look still counts units, and its information fraction is units so far over
`sequential.planned_units`, which is in units: for a clustered design the units
`abkit plan` gives, already multiplied by the design effect. Counting clusters
instead would be inconsistent with a plan in units, and wrong in time: the clusters
are usually all present after the first days (a city's first user enrols it), while
the information keeps growing with its units. The sequential sample-ratio test
counts clusters, each on the morning after its first unit's exposure key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from abkit.aggregates.rows import Rows, as_date
from abkit.analysis.clusters import arm_of, cluster_effect
from abkit.analysis.monitoring import MetricSeries, metric_series
from abkit.config import Experiment, Metric
from abkit.stats.cluster import ClusterArm
from abkit.stats.welch import EffectResult

if TYPE_CHECKING:  # the frames come from the caller; pandas is not imported here
    import pandas as pd

ClusterDaily = dict[str, list[tuple[dt.date, dict[str, ClusterArm]]]]
"""variant -> (exposure key, metric -> cluster-sum increments) in date order."""


def read_cluster_daily(experiment: Experiment, frame: pd.DataFrame) -> ClusterDaily:
    """cluster_moments.sql's exposure-key rows, per variant in date order."""
    names = [m.name for m in experiment.metrics if m.kind != "quantile"]
    daily: ClusterDaily = {}
    rows = frame[frame["exposure_key"].notna()].sort_values("exposure_key")
    for row in rows.to_dict("records"):
        day = as_date(row["exposure_key"])
        arms = {name: arm_of(row, name) for name in names}
        daily.setdefault(str(row["variant"]), []).append((day, arms))
    return daily


def cluster_series(
    experiment: Experiment,
    frame: pd.DataFrame,
    last_day: dt.date,
    alphas: Mapping[str, float] | None = None,
) -> tuple[MetricSeries, ...]:
    """Every metric × treatment's daily series over clusters, sequential if planned."""

    def compare(_: Metric, control: ClusterArm, treated: ClusterArm) -> EffectResult:
        return cluster_effect(control, treated, experiment.alpha)

    daily = read_cluster_daily(experiment, frame)
    return metric_series(experiment, daily, last_day, compare, alphas)


def cluster_daily_exposures(frame: pd.DataFrame) -> Rows:
    """New clusters per exposure day and variant, in the daily_exposures layout.

    Columns exposure_day, variant, n_units (here: clusters whose first analysed unit
    was exposed that day), so the per-day SRM check counts the randomized clusters.
    """
    return [
        {"exposure_day": day, "variant": variant, "n_units": count}
        for day, by_variant in sorted(cluster_exposure_counts(frame).items())
        for variant, count in by_variant.items()
        if any(by_variant.values())  # days on which no cluster started are no test
    ]


def cluster_exposure_counts(frame: pd.DataFrame) -> dict[dt.date, dict[str, int]]:
    """New clusters per exposure key and variant (a cluster counts from its first)."""
    counts: dict[dt.date, dict[str, int]] = {}
    for row in frame[frame["exposure_key"].notna()].to_dict("records"):
        day = as_date(row["exposure_key"])
        counts.setdefault(day, {})[str(row["variant"])] = int(row["clusters"])
    return counts
