"""Readers that turn the engine's query rows into moments, unit counts and caps.

moments.sql returns one row per variant for the overall analysis, one per variant ×
segment value, and one per variant × exposure day (`exposure_key`). The column names
come from `abkit.sql.variables`, so the readers here never guess them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from abkit.aggregates.moments import JointMoments
from abkit.sql.render import segment_column
from abkit.sql.variables import MetricVariables, shift_column, shifted_column

GroupKey = tuple[str, str] | None
"""(segment, value) of a group of moments rows; None for the overall rows."""
VariantMoments = dict[str, dict[str, JointMoments]]
"""variant -> metric -> joint moments of the metric's variables."""
DailyMoments = dict[str, list[tuple[dt.date, dict[str, JointMoments]]]]
"""variant -> (exposure day, metric -> joint moments) in date order."""


def read_moments(
    rows: pd.DataFrame, plans: Sequence[MetricVariables], segments: Sequence[str]
) -> dict[GroupKey, VariantMoments]:
    """Group the moments.sql rows into (segment, value) -> variant -> metric moments.

    Groups come out in a stable order (overall, then segments as configured, values
    sorted) whatever order the engine returned the rows in. Rows of segments not in
    `segments` are skipped (planning reads the overall rows only).
    """
    groups: dict[GroupKey, VariantMoments] = {}
    wanted = {segment_column(s) for s in segments}
    others = [c for c in rows.columns if c.startswith("segment__") and c not in wanted]
    selected = rows["exposure_key"].isna()
    for column in others:  # rows of segments not asked for are not overall rows
        selected &= rows[column].isna()
    for row in records(rows[selected]):
        key = _group_key(row, segments)
        groups.setdefault(key, {})[str(row["variant"])] = {
            plan.metric.name: joint_moments(row, plan) for plan in plans
        }
    order = {segment: i for i, segment in enumerate(segments)}
    return dict(
        sorted(groups.items(), key=lambda item: (-1, "") if item[0] is None
               else (order[item[0][0]], item[0][1]))
    )  # fmt: skip


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts, as `frame.to_dict("records")` gives them, twice as fast.

    pandas builds a Series per column and row for `to_dict`; the moments frames
    are a few dozen rows by several hundred columns, so read column by column.
    """
    columns = [str(c) for c in frame.columns]
    values = [frame[c].tolist() for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def joint_moments(row: Mapping[str, Any], plan: MetricVariables) -> JointMoments:
    """One metric's JointMoments from its columns in a moments.sql row.

    The sums about each variable's shift give the centred moments (precise whatever
    the means); rows without shift columns (SQL pasted from an older abkit) are read
    from the raw sums alone.
    """
    variables = plan.variables
    if shift_column(variables[0].column) not in row:
        return _raw_joint_moments(row, plan)
    index = {v.column: i for i, v in enumerate(variables)}
    shift = [_number(row[shift_column(v.column)]) for v in variables]
    sums = [_number(row[shifted_column(f"{v.column}__sum")]) for v in variables]
    cross = [[0.0] * len(variables) for _ in variables]
    for i, v in enumerate(variables):
        cross[i][i] = _number(row[shifted_column(f"{v.column}__sum_sq")])
    for left, right, column in plan.pairs():
        i, j = index[left.column], index[right.column]
        cross[i][j] = cross[j][i] = _number(row[shifted_column(column)])
    return JointMoments.from_shifted(
        int(row[plan.n_column]), plan.roles, shift, sums, cross
    )


def _raw_joint_moments(row: Mapping[str, Any], plan: MetricVariables) -> JointMoments:
    variables = plan.variables
    index = {v.column: i for i, v in enumerate(variables)}
    sums = [_number(row[f"{v.column}__sum"]) for v in variables]
    cross = [[0.0] * len(variables) for _ in variables]
    for i, v in enumerate(variables):
        cross[i][i] = _number(row[f"{v.column}__sum_sq"])
    for left, right, column in plan.pairs():
        i, j = index[left.column], index[right.column]
        cross[i][j] = cross[j][i] = _number(row[column])
    return JointMoments(
        int(row[plan.n_column]),
        plan.roles,
        tuple(sums),
        tuple(tuple(r) for r in cross),
    )


def _number(value: Any) -> float:
    """SQL SUM over no rows is NULL: read it as 0."""
    return (
        0.0
        if value is None or (isinstance(value, float) and math.isnan(value))
        else float(value)
    )


def _group_key(row: Mapping[str, Any], segments: Sequence[str]) -> GroupKey:
    for segment in segments:
        value = row.get(segment_column(segment))
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return (segment, str(value))
    return None


def read_daily(rows: pd.DataFrame, plans: Sequence[MetricVariables]) -> DailyMoments:
    """Per variant, the exposure-key rows in date order (moments.sql's daily set)."""
    daily: DailyMoments = {}
    selected = rows[rows["exposure_key"].notna()].sort_values("exposure_key")
    for row in records(selected):
        moments = {plan.metric.name: joint_moments(row, plan) for plan in plans}
        day = pd.Timestamp(row["exposure_key"]).date()
        daily.setdefault(str(row["variant"]), []).append((day, moments))
    return daily


def read_caps(rows: pd.DataFrame, plans: Sequence[MetricVariables]) -> dict[str, float]:
    """The winsorizing cap of each capped metric (the same on every moments row)."""
    caps = {}
    for plan in plans:
        value_cap = next(
            (v.cap for v in plan.variables if v.role == "value" and v.cap), None
        )
        if value_cap is not None and not rows.empty:
            caps[plan.metric.name] = _number(rows[value_cap].max())
    return caps


def overall_totals(rows: pd.DataFrame, segments: Sequence[str]) -> dict[str, Any]:
    """Every numeric column summed over the overall rows (all variants together)."""
    mask = rows["exposure_key"].isna()
    for segment in segments:
        mask &= rows[segment_column(segment)].isna()
    totals: dict[str, Any] = rows[mask].sum(numeric_only=True).to_dict()
    return totals


def unit_count(rows: pd.DataFrame, variant: str, key: GroupKey = None) -> int:
    """Exposed units of one variant, overall or within one segment value."""
    return unit_counts(rows, [variant], [key])[key][0]


def unit_counts(
    rows: pd.DataFrame, variants: Sequence[str], keys: Sequence[GroupKey]
) -> dict[GroupKey, list[int]]:
    """`unit_count` of every variant (in order) for each key, in one pass.

    Reads the key columns once as lists: filtering the wide moments frame copies
    every column, once per segment column, variant and key.
    """
    segment_columns = [str(c) for c in rows.columns if str(c).startswith("segment__")]
    columns = {
        c: rows[c].tolist()
        for c in ("variant", "exposure_key", "n_units", *segment_columns)
    }
    counts = {key: dict.fromkeys(variants, 0) for key in keys}
    for i, variant in enumerate(columns["variant"]):
        units = columns["n_units"][i]
        if not pd.isna(columns["exposure_key"][i]) or pd.isna(units):
            continue
        values = {c: columns[c][i] for c in segment_columns}
        for key, by_variant in counts.items():
            if variant in by_variant and _in_group(values, key):
                by_variant[variant] += int(units)
    return {key: list(by_variant.values()) for key, by_variant in counts.items()}


def _in_group(values: Mapping[str, Any], key: GroupKey) -> bool:
    """A row's segment values are those of group `key` (the others NULL)."""
    wanted = segment_column(key[0]) if key is not None else None
    return all(
        (not pd.isna(value) and value == key[1])
        if key is not None and column == wanted
        else pd.isna(value)
        for column, value in values.items()
    )


def daily_exposure_counts(frame: pd.DataFrame) -> dict[dt.date, dict[str, int]]:
    """daily_exposures.sql rows as exposure day -> variant -> new units."""
    counts: dict[dt.date, dict[str, int]] = {}
    for row in records(frame):
        day = pd.Timestamp(row["exposure_day"]).date()
        counts.setdefault(day, {})[str(row["variant"])] = int(row["n_units"])
    return counts
