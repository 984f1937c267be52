"""Readers that turn the engine's query rows into moments, unit counts and caps.

moments.sql returns one row per variant for the overall analysis, one per variant ×
segment value, and one per variant × exposure day (`exposure_key`). The column names
come from `abkit.sql.variables`, so the readers here never guess them.

The rows are plain dicts read straight from the engine's Arrow result (`table_rows`):
a few dozen rows, so no data-frame library is needed (or imported) to read them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from abkit.aggregates.moments import JointMoments
from abkit.sql.render import segment_column
from abkit.sql.variables import MetricVariables, shift_column, shifted_column

GroupKey = tuple[str, str] | None
"""(segment, value) of a group of moments rows; None for the overall rows."""
VariantMoments = dict[str, dict[str, JointMoments]]
"""variant -> metric -> joint moments of the metric's variables."""
DailyMoments = dict[str, list[tuple[dt.date, dict[str, JointMoments]]]]
"""variant -> (exposure day, metric -> joint moments) in date order."""
Row = dict[str, Any]
"""One query row: column name -> Python value (None for SQL NULL)."""
Rows = list[Row]
"""A small query result, row by row."""


def table_rows(table: pa.Table) -> Rows:
    """An engine's Arrow result as rows of Python values (decimals as floats)."""
    rows: Rows = decimals_as_floats(table).to_pylist()
    return rows


def decimals_as_floats(table: pa.Table) -> pa.Table:
    """The table with its DECIMAL columns cast to float64.

    Exact sums come back as DECIMAL (HUGEINT) on some engines; the statistics take
    floats, as every reader expects.
    """
    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(
                index, field.name, table[field.name].cast(pa.float64())
            )
    return table


def is_null(value: Any) -> bool:
    """SQL NULL as a row holds it (None, or NaN in rows built from a float column)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def read_moments(
    rows: Sequence[Row], plans: Sequence[MetricVariables], segments: Sequence[str]
) -> dict[GroupKey, VariantMoments]:
    """Group the moments.sql rows into (segment, value) -> variant -> metric moments.

    Groups come out in a stable order (overall, then segments as configured, values
    sorted) whatever order the engine returned the rows in. Rows of segments not in
    `segments` are skipped (planning reads the overall rows only).
    """
    groups: dict[GroupKey, VariantMoments] = {}
    wanted = {segment_column(s) for s in segments}
    others = [c for c in columns(rows) if c.startswith("segment__") and c not in wanted]
    selected = [  # rows of segments not asked for are not overall rows
        row for row in rows
        if is_null(row["exposure_key"]) and all(is_null(row[c]) for c in others)
    ]  # fmt: skip
    for row in selected:
        key = _group_key(row, segments)
        groups.setdefault(key, {})[str(row["variant"])] = {
            plan.metric.name: joint_moments(row, plan) for plan in plans
        }
    order = {segment: i for i, segment in enumerate(segments)}
    return dict(
        sorted(groups.items(), key=lambda item: (-1, "") if item[0] is None
               else (order[item[0][0]], item[0][1]))
    )  # fmt: skip


def columns(rows: Sequence[Row]) -> list[str]:
    """The column names of a query's rows (every row has them all)."""
    return list(rows[0]) if rows else []


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
    return 0.0 if is_null(value) else float(value)


def _group_key(row: Mapping[str, Any], segments: Sequence[str]) -> GroupKey:
    for segment in segments:
        value = row.get(segment_column(segment))
        if not is_null(value):
            return (segment, str(value))
    return None


def read_daily(rows: Sequence[Row], plans: Sequence[MetricVariables]) -> DailyMoments:
    """Per variant, the exposure-key rows in date order (moments.sql's daily set)."""
    daily: DailyMoments = {}
    selected = [row for row in rows if not is_null(row["exposure_key"])]
    for row in sorted(selected, key=lambda row: as_date(row["exposure_key"])):
        moments = {plan.metric.name: joint_moments(row, plan) for plan in plans}
        day = as_date(row["exposure_key"])
        daily.setdefault(str(row["variant"]), []).append((day, moments))
    return daily


def as_date(value: Any) -> dt.date:
    """A DATE column's value (a datetime from some engines) as a date."""
    return value.date() if isinstance(value, dt.datetime) else value


def as_datetime(value: Any) -> dt.datetime | None:
    """A TIMESTAMP column's value as a datetime (None for NULL)."""
    return value if isinstance(value, dt.datetime) else None


def read_caps(
    rows: Sequence[Row], plans: Sequence[MetricVariables]
) -> dict[str, float]:
    """The winsorizing cap of each capped metric (the same on every moments row)."""
    caps = {}
    for plan in plans:
        value_cap = next(
            (v.cap for v in plan.variables if v.role == "value" and v.cap), None
        )
        if value_cap is not None and rows:
            present = [row[value_cap] for row in rows if not is_null(row[value_cap])]
            caps[plan.metric.name] = float(max(present)) if present else 0.0
    return caps


def overall_rows(rows: Sequence[Row], segments: Sequence[str]) -> Rows:
    """The overall rows: one per variant, no exposure key or segment value set."""
    keys = ["exposure_key", *(segment_column(s) for s in segments)]
    return [row for row in rows if all(is_null(row[k]) for k in keys)]


def overall_totals(rows: Sequence[Row], segments: Sequence[str]) -> dict[str, float]:
    """Every numeric column summed over the overall rows (all variants together)."""
    selected = overall_rows(rows, segments)
    totals: dict[str, float] = {}
    for column in columns(rows):
        values = [row[column] for row in selected]
        if all(_numeric(v) for v in values):
            totals[column] = sum(_number(v) for v in values)
    return totals


def _numeric(value: Any) -> bool:
    """A count or sum (bools and text are not totalled); NULL counts as 0."""
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def unit_count(rows: Sequence[Row], variant: str, key: GroupKey = None) -> int:
    """Exposed units of one variant, overall or within one segment value."""
    return unit_counts(rows, [variant], [key])[key][0]


def unit_counts(
    rows: Sequence[Row], variants: Sequence[str], keys: Sequence[GroupKey]
) -> dict[GroupKey, list[int]]:
    """`unit_count` of every variant (in order) for each key, in one pass."""
    segment_columns = [c for c in columns(rows) if c.startswith("segment__")]
    counts = {key: dict.fromkeys(variants, 0) for key in keys}
    for row in rows:
        units = row["n_units"]
        if not is_null(row["exposure_key"]) or is_null(units):
            continue
        values = {c: row[c] for c in segment_columns}
        for key, by_variant in counts.items():
            if row["variant"] in by_variant and _in_group(values, key):
                by_variant[row["variant"]] += int(units)
    return {key: list(by_variant.values()) for key, by_variant in counts.items()}


def _in_group(values: Mapping[str, Any], key: GroupKey) -> bool:
    """A row's segment values are those of group `key` (the others NULL)."""
    wanted = segment_column(key[0]) if key is not None else None
    return all(
        (not is_null(value) and value == key[1])
        if key is not None and column == wanted
        else is_null(value)
        for column, value in values.items()
    )


def daily_exposure_counts(rows: Sequence[Row]) -> dict[dt.date, dict[str, int]]:
    """daily_exposures rows as exposure day -> variant -> new units."""
    counts: dict[dt.date, dict[str, int]] = {}
    for row in rows:
        day = as_date(row["exposure_day"])
        counts.setdefault(day, {})[str(row["variant"])] = int(row["n_units"])
    return counts
