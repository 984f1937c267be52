"""Compare what two engines returned: frames and results, to a relative tolerance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from abkit.analysis.queries import QueryResults

TOLERANCE = 1e-9
FRAMES = (
    "moments", "exposure_health", "daily_exposures", "contamination", "novelty",
    "quantiles", "clusters",
)  # fmt: skip


def relative_difference(left: float, right: float, floor: float = 0.0) -> float:
    """|left - right| relative to the larger magnitude (0 when both are 0 or NaN).

    `floor` bounds the scale from below: a sum that is 0 in truth comes out as 0 on
    one engine and as rounding noise (3e-11 in a column of sums near 1e4) on
    another, so its error is measured against its column's largest magnitude.
    """
    if math.isnan(left) and math.isnan(right):
        return 0.0
    if math.isnan(left) or math.isnan(right):
        return math.inf
    scale = max(abs(left), abs(right), floor)
    return 0.0 if scale == 0 else abs(left - right) / scale


def frame_difference(left: pd.DataFrame, right: pd.DataFrame) -> float:
    """The largest relative difference of two frames with the same rows.

    Rows are matched by the non-numeric columns (variant, days, segments); those
    must be equal, and so must the column names.
    """
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    keys = [c for c in left.columns if not pd.api.types.is_numeric_dtype(left[c])]
    keys += [c for c in left.columns if pd.api.types.is_bool_dtype(left[c])]
    left, right = (
        f.sort_values(keys, na_position="first").reset_index(drop=True) if keys else f
        for f in (left, right)
    )
    for key in keys:
        pd.testing.assert_series_equal(left[key], right[key], check_dtype=False)
    return max([0.0, *column_differences(left, right, keys).values()])


def column_differences(
    left: pd.DataFrame, right: pd.DataFrame, keys: list[str]
) -> dict[str, float]:
    """The largest relative difference per numeric column of two aligned frames."""
    differences = {}
    for column in left.columns:
        if column in keys:
            continue
        values = left[column].astype(float), right[column].astype(float)
        floor = float(np.nanmax(np.abs(values[0]), initial=0.0))
        pairs = zip(*values, strict=True)
        differences[column] = max(
            [0.0, *(relative_difference(a, b, floor) for a, b in pairs)]
        )
    return differences


def frames_difference(left: QueryResults, right: QueryResults) -> dict[str, float]:
    """The largest relative difference of every result the analysis queries return."""
    differences = {}
    for name in FRAMES:
        a, b = getattr(left, name), getattr(right, name)
        assert (a is None) == (b is None), name
        if a is not None:
            differences[name] = frame_difference(as_frame(a), as_frame(b))
    return differences


def as_frame(result: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
    """A query's rows (or frame) as a frame to compare."""
    return result if isinstance(result, pd.DataFrame) else pd.DataFrame(result)


def nested_difference(left: Any, right: Any, where: str = "") -> float:
    """The largest relative difference of two JSON-like results (other values equal)."""
    if isinstance(left, dict):
        assert left.keys() == right.keys(), where
        return max(
            [0.0, *(nested_difference(left[k], right[k], f"{where}.{k}") for k in left)]
        )
    if isinstance(left, (list, tuple)):
        assert len(left) == len(right), where
        pairs = zip(left, right, strict=True)
        return max([0.0, *(nested_difference(a, b, where) for a, b in pairs)])
    if isinstance(left, (float, np.floating)) and not isinstance(left, bool):
        return relative_difference(float(left), float(right))
    assert left == right, f"{where}: {left!r} != {right!r}"
    return 0.0


def result_dict(result: Any, *also: str) -> dict[str, Any]:
    """A result's JSON dict without the fields that name the run (and `also`)."""
    data: dict[str, Any] = result.to_dict()
    for key in ("engine", "dialect", "created_at", *also):
        data.pop(key)
    return data
