"""Cluster-randomized experiments: the scorecard's tests over clusters, not units.

With `data.assignments.cluster` set (the randomization unit, e.g. city), units of a
cluster share their arm, so their values are not independent and the per-unit tests
would be far too narrow. Each metric's effect is recomputed from the per-arm cluster
sums of queries/cluster_moments.sql: the same point estimate (the per-unit mean or
ratio), a cluster-robust delta-method variance (`abkit.stats.cluster`) and Welch
degrees of freedom counted in clusters. The sample-ratio test counts clusters.
CUPED is not applied to clustered metrics (the adjustment would need cluster-level
covariates), and the result says so together with the design effect and the ICC.

Only the overall scorecard's moment metrics are retested over clusters. Quantile
metrics, segment results and the daily series (and so a sequential design's looks)
keep their per-unit variances, which are too narrow when clusters are randomized:
quantile and segment results are labelled `PER_UNIT_NOTE`, and each clustered
metric's note says the segments and the daily series are per unit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from abkit.analysis.health import SRM_THRESHOLD
from abkit.analysis.relative_ci import with_relative_ci
from abkit.analysis.results import MetricResult
from abkit.config import Experiment
from abkit.stats.cluster import ClusterArm, cluster_estimate, design_effect, icc
from abkit.stats.srm import SrmResult, srm_test
from abkit.stats.welch import welch_test

ClusterArms = dict[str, dict[str, ClusterArm]]
"""metric -> variant -> the arm's cluster sums."""

PER_UNIT_NOTE = (
    "per-unit variance, not cluster-robust (clusters were randomized): "
    "too narrow, exploratory only"
)
"""The label of segment results and daily series in a cluster-randomized design."""


def read_cluster_arms(experiment: Experiment, frame: pd.DataFrame) -> ClusterArms:
    """The cluster sums of every metric and variant from cluster_moments.sql rows."""
    records: list[dict[Any, Any]] = frame.to_dict("records")
    arms: ClusterArms = {}
    for metric in experiment.metrics:
        if metric.kind == "quantile":
            continue
        name = metric.name
        arms[name] = {
            str(row["variant"]): ClusterArm(
                clusters=int(row[f"{name}__clusters"]),
                units=int(row[f"{name}__units"]),
                y=_number(row[f"{name}__y"]),
                y_sq=_number(row[f"{name}__y_sq"]),
                d=_number(row[f"{name}__d"]),
                yc_sq=_number(row[f"{name}__yc_sq"]),
                dc_sq=_number(row[f"{name}__dc_sq"]),
                yd=_number(row[f"{name}__yd"]),
                y_sq_over_units=_number(row[f"{name}__y_sq_over_units"]),
            )
            for row in records
        }
    return arms


def _number(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def cluster_srm(experiment: Experiment, frame: pd.DataFrame | None) -> SrmResult | None:
    """The sample-ratio test over clusters per arm (None when units are randomized)."""
    if frame is None:
        return None
    counts = dict(zip(frame["variant"].astype(str), frame["clusters"], strict=True))
    observed = [int(counts.get(v, 0)) for v in experiment.variants]
    return srm_test(observed, list(experiment.variants.values()), SRM_THRESHOLD)


def cluster_note(
    experiment: Experiment, arms: dict[str, ClusterArm], ratio: bool
) -> str:
    """Which unit was randomized, over how many clusters, with what design effect."""
    clusters = sum(arm.clusters for arm in arms.values())
    text = (
        f"randomized by {experiment.data.assignments.cluster}: cluster-robust variance "
        f"over {clusters:,} clusters"
    )
    control = arms.get(experiment.control)
    if control is not None and not ratio:
        deff, correlation = design_effect(control), icc(control)
        if not math.isnan(deff):
            text += f" (design effect {deff:.2f}, ICC {correlation:.3f})"
    return text + "; CUPED not applied; segments and the daily series are per unit"


def label_per_unit(
    experiment: Experiment, results: Sequence[MetricResult]
) -> tuple[MetricResult, ...]:
    """Segment results labelled `PER_UNIT_NOTE` when clusters were randomized."""
    if experiment.data.assignments.cluster is None:
        return tuple(results)
    return tuple(_per_unit(r) for r in results)


def _per_unit(result: MetricResult) -> MetricResult:
    """The result with `PER_UNIT_NOTE` added to its note."""
    note = f"{result.note}; {PER_UNIT_NOTE}" if result.note else PER_UNIT_NOTE
    return dataclasses.replace(result, note=note)


def with_clusters(
    experiment: Experiment,
    results: Sequence[MetricResult],
    frame: pd.DataFrame | None,
) -> tuple[MetricResult, ...]:
    """The results retested over clusters; unchanged when units are randomized."""
    if frame is None:
        return tuple(results)
    arms = read_cluster_arms(experiment, frame)
    updated = []
    for result in results:
        by_variant = arms.get(result.metric)
        if result.kind == "quantile":
            updated.append(_per_unit(result))
            continue
        if by_variant is None or result.segment is not None:
            updated.append(result)
            continue
        control = by_variant.get(experiment.control)
        treated = by_variant.get(result.variant)
        if control is None or treated is None:
            updated.append(result)
            continue
        effect = welch_test(
            cluster_estimate(control), cluster_estimate(treated), experiment.alpha
        )
        note = cluster_note(experiment, by_variant, result.kind == "ratio")
        plain = dataclasses.replace(
            result, effect=effect, cuped=None, unadjusted=None, fieller=None,
            relative_ci_method="delta", note=note,
        )  # fmt: skip
        updated.append(with_relative_ci(plain, experiment.relative_ci))
    return tuple(updated)
