"""The kept moments updated by the units whose values changed.

moments.sql's rows (variant × exposure day, variant × segment value, variant) hold
counts and sums about fixed shifts: over the same shifts they add up over any split
of the units. So the new rows are the kept rows, minus the changed units' rows as
the state had them, plus their rows now; the raw sums are then derived from the
shifted ones exactly as moments.sql derives them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def column_roles(context: dict[str, Any]) -> tuple[list[str], list[str]]:
    """moments.sql's group keys and its columns that add up over units."""
    keys = ["variant", "exposure_key"] + [s["alias"] for s in context["segments"]]
    additive = list(context["count_columns"])
    for m in context["metrics"]:
        additive.append(f"{m['name']}__n")
        for v in m["variables"]:
            additive += [v["shifted_sum"], v["shifted_sum_sq"]]
        additive += [p["shifted"] for p in m["pairs"]]
    return keys, list(dict.fromkeys(additive))


def updated_moments(
    kept: pd.DataFrame,
    before: pd.DataFrame,
    after: pd.DataFrame,
    caps: dict[str, Any],
    context: dict[str, Any],
) -> pd.DataFrame:
    """Kept rows − the changed units' old rows + their new rows, in moments.sql's form.

    `caps` holds each shift and cap column (the same on every row).
    """
    keys, additive = column_roles(context)
    removed = before[keys + additive].copy()
    removed[additive] = -removed[additive]
    parts = [kept[keys + additive], removed, after[keys + additive]]
    stacked = pd.concat([p for p in parts if len(p)], ignore_index=True)
    summed = stacked.groupby(keys, dropna=False, sort=False).sum().reset_index()
    summed = summed[summed["n_units"] > 0].reset_index(drop=True)
    for column in context["count_columns"]:
        summed[column] = summed[column].astype(np.int64)
    for m in context["metrics"]:
        n_column = f"{m['name']}__n"
        summed[n_column] = summed[n_column].astype(np.int64)
        n = summed[n_column].astype(float)
        for v in m["variables"]:
            shift = float(caps[v["shift"]])
            summed[v["shift"]] = shift
            total, square = summed[v["shifted_sum"]], summed[v["shifted_sum_sq"]]
            summed[v["sum"]] = total + n * shift
            summed[v["sum_sq"]] = square + shift * (2 * total + n * shift)
            if v.get("cap"):
                summed[v["cap"]] = caps[v["cap"]]
        for p in m["pairs"]:
            left, right = p["left"], p["right"]
            a, b = float(caps[left["shift"]]), float(caps[right["shift"]])
            summed[p["column"]] = (
                summed[p["shifted"]]
                + a * summed[right["shifted_sum"]]
                + b * summed[left["shifted_sum"]]
                + n * a * b
            )
    ordered: pd.DataFrame = summed[[c for c in kept.columns if c in summed.columns]]
    return ordered
