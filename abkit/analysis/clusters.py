"""Cluster-randomized experiments: the scorecard's tests over clusters, not units.

With `data.assignments.cluster` set (the randomization unit, e.g. city), units of a
cluster share their arm, so their values are not independent and the per-unit tests
would be far too narrow. Each metric's effect is recomputed from the per-arm cluster
sums of queries/cluster_moments.sql: the same point estimate (the per-unit mean or
ratio), a cluster-robust delta-method variance (`abkit.stats.cluster`) and Welch
degrees of freedom counted in clusters. The sample-ratio test counts clusters.
CUPED is not applied to clustered metrics (the adjustment would need cluster-level
covariates), and the result says so together with the design effect and the ICC.

Segment results are retested the same way over the sums of each cluster's units
in the segment value, and the segment sample-ratio tests count clusters; the daily
series (and a sequential design's looks) are cluster-robust too
(`abkit.analysis.cluster_looks`). Only quantile metrics keep their per-unit
variances, too narrow when clusters are randomized: they are labelled
`PER_UNIT_NOTE`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from abkit.aggregates.rows import GroupKey, is_null
from abkit.analysis.health import segment_srm_threshold
from abkit.analysis.relative_ci import with_relative_ci
from abkit.analysis.results import MetricResult, SegmentSrm
from abkit.config import Experiment
from abkit.sql.render import segment_column
from abkit.stats.cluster import ClusterArm, cluster_estimate, design_effect, icc
from abkit.stats.srm import SrmResult, srm_test
from abkit.stats.welch import EffectResult, welch_test

if TYPE_CHECKING:  # the frames come from the caller; pandas is not imported here
    import pandas as pd

ClusterArms = dict[str, dict[str, ClusterArm]]
"""metric -> variant -> the arm's cluster sums."""

PER_UNIT_NOTE = (
    "per-unit variance, not cluster-robust (clusters were randomized): "
    "too narrow, exploratory only"
)
"""The label of quantile results in a cluster-randomized design (per-unit variance)."""


def overall_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """cluster_moments.sql's overall rows (no exposure key, no segment value)."""
    mask = frame["exposure_key"].isna() if "exposure_key" in frame else None
    for column in (c for c in frame.columns if c.startswith("segment__")):
        mask = frame[column].isna() if mask is None else mask & frame[column].isna()
    return frame if mask is None else frame[mask]


def segment_rows(
    experiment: Experiment, frame: pd.DataFrame
) -> dict[GroupKey, pd.DataFrame]:
    """The rows of each (segment, value), in the scorecard's order."""
    groups: dict[GroupKey, pd.DataFrame] = {}
    for segment in experiment.segments:
        column = segment_column(segment)
        if column not in frame:
            continue
        rows = frame[frame[column].notna()]
        for value in sorted(rows[column].astype(str).unique()):
            groups[(segment, value)] = rows[rows[column].astype(str) == value]
    return groups


def read_cluster_arms(experiment: Experiment, frame: pd.DataFrame) -> ClusterArms:
    """The overall cluster sums of every metric and variant (cluster_moments.sql)."""
    return cluster_arms(experiment, overall_rows(frame))


def read_cluster_segments(
    experiment: Experiment, frame: pd.DataFrame
) -> dict[GroupKey, ClusterArms]:
    """The cluster sums within each segment value: a cluster's units in it."""
    return {
        key: cluster_arms(experiment, rows)
        for key, rows in segment_rows(experiment, frame).items()
    }


def cluster_arms(experiment: Experiment, rows: pd.DataFrame) -> ClusterArms:
    """The cluster sums (metric -> variant) of rows holding one row per variant."""
    records: list[dict[Any, Any]] = rows.to_dict("records")
    return {
        metric.name: {str(row["variant"]): arm_of(row, metric.name) for row in records}
        for metric in experiment.metrics
        if metric.kind != "quantile"
    }


def arm_of(row: Mapping[Any, Any], name: str) -> ClusterArm:
    """One metric's ClusterArm from its columns in a cluster_moments.sql row."""
    return ClusterArm(
        clusters=int(_number(row[f"{name}__clusters"])),
        units=int(_number(row[f"{name}__units"])),
        y=_number(row[f"{name}__y"]),
        y_sq=_number(row[f"{name}__y_sq"]),
        d=_number(row[f"{name}__d"]),
        yc_sq=_number(row[f"{name}__yc_sq"]),
        dc_sq=_number(row[f"{name}__dc_sq"]),
        yd=_number(row[f"{name}__yd"]),
        y_sq_over_units=_number(row[f"{name}__y_sq_over_units"]),
    )


def _number(value: Any) -> float:
    return 0.0 if is_null(value) else float(value)


def cluster_srm(experiment: Experiment, frame: pd.DataFrame | None) -> SrmResult | None:
    """The sample-ratio test over clusters per arm (None when units are randomized)."""
    if frame is None:
        return None
    return _srm_of(experiment, overall_rows(frame), experiment.health.srm_threshold)


def cluster_segment_srm(
    experiment: Experiment, frame: pd.DataFrame | None
) -> tuple[SegmentSrm, ...] | None:
    """The sample-ratio test within each segment value, counting its clusters.

    A cluster counts in a segment value when one of its units has that value; the
    threshold is the per-unit one's (Bonferroni over the segment values).
    """
    if frame is None:
        return None
    groups = segment_rows(experiment, frame)
    threshold = segment_srm_threshold(len(groups), experiment.health.srm_threshold)
    return tuple(
        SegmentSrm(key[0], key[1], _srm_of(experiment, rows, threshold))
        for key, rows in groups.items()
        if key is not None
    )


def _srm_of(experiment: Experiment, rows: pd.DataFrame, threshold: float) -> SrmResult:
    counts = dict(zip(rows["variant"].astype(str), rows["clusters"], strict=True))
    observed = [int(_number(counts.get(v, 0))) for v in experiment.variants]
    return srm_test(observed, list(experiment.variants.values()), threshold)


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
    return text + f"; CUPED not applied; {CLUSTER_ROBUST_SCOPE}"


CLUSTER_ROBUST_SCOPE = "segments and the daily series are cluster-robust too"
"""What the note of a clustered metric says about its segments and daily looks."""


def _per_unit(result: MetricResult) -> MetricResult:
    """The result with `PER_UNIT_NOTE` added to its note."""
    note = f"{result.note}; {PER_UNIT_NOTE}" if result.note else PER_UNIT_NOTE
    return dataclasses.replace(result, note=note)


def with_clusters(
    experiment: Experiment,
    results: Sequence[MetricResult],
    frame: pd.DataFrame | None,
) -> tuple[MetricResult, ...]:
    """The results retested over clusters; unchanged when units are randomized.

    Overall results use the overall cluster sums, segment results the sums of
    each cluster's units in that segment value. Quantile results keep their
    per-unit variance and are labelled `PER_UNIT_NOTE`.
    """
    if frame is None:
        return tuple(results)
    groups: dict[GroupKey, ClusterArms] = {None: read_cluster_arms(experiment, frame)}
    if any(result.segment is not None for result in results):
        groups |= read_cluster_segments(experiment, frame)
    updated = []
    for result in results:
        if result.kind == "quantile":
            updated.append(_per_unit(result))
            continue
        key = (
            None
            if result.segment is None
            else (result.segment, str(result.segment_value))
        )
        by_variant = groups.get(key, {}).get(result.metric)
        updated.append(_retested(experiment, result, by_variant))
    return tuple(updated)


def _retested(
    experiment: Experiment,
    result: MetricResult,
    by_variant: dict[str, ClusterArm] | None,
) -> MetricResult:
    """One result's effect over clusters (unchanged without both arms' sums)."""
    if by_variant is None:
        return result
    control = by_variant.get(experiment.control)
    treated = by_variant.get(result.variant)
    if control is None or treated is None:
        return result
    effect = cluster_effect(control, treated, experiment.alpha)
    note = cluster_note(experiment, by_variant, result.kind == "ratio")
    plain = dataclasses.replace(
        result, effect=effect, cuped=None, unadjusted=None, fieller=None,
        relative_ci_method="delta", note=note,
    )  # fmt: skip
    return with_relative_ci(plain, experiment.relative_ci)


def cluster_effect(
    control: ClusterArm, treatment: ClusterArm, alpha: float
) -> EffectResult:
    """Welch's test of the arms' cluster-robust estimates (df counted in clusters)."""
    return welch_test(cluster_estimate(control), cluster_estimate(treatment), alpha)
