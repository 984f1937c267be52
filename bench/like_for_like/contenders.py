"""The same job written by hand in polars (lazy) and pandas, and run through abkit.

Each data-frame version does what an analyst would write: join the events to the
assignments for each unit's exposure, aggregate per unit (each KPI after exposure
and over the 14 days before it), left-join that back onto every assigned unit
(units without events are zeros) and sum per variant. pandas looks the exposure up
by index and masks instead of filtering, to hold one copy of the events, not three
(a merged and a filtered frame would need about 19 GB at 100M events). The per-variant sums then go
through the same CUPED Welch finish as the limit (numbers.py), so the sides differ
only in how they crunch the data.

polars and pandas are imported inside the functions, so a worker process of one
side loads only its own library (imports count in each side's process time/RSS).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.like_for_like.numbers import KPIS, Numbers, abkit_numbers, numbers_from_rows

PRE_PERIOD = dt.timedelta(days=14)
UNIT_COLUMNS = tuple(f"{kpi}{suffix}" for kpi in KPIS[:4] for suffix in ("", "_pre"))
"""Per-unit values aggregated from the events (converted derives from purchases)."""

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl


# --- polars ---------------------------------------------------------------------


def polars_unit_values(directory: Path) -> pl.LazyFrame:
    """One row per assigned unit: variant and every KPI's value and pre-period value."""
    import polars as pl

    assignments = pl.scan_parquet(directory / "assignments.parquet")
    events = pl.scan_parquet(directory / "events.parquet")
    post = pl.col("ts") >= pl.col("exposed_at")
    pre = ~post
    click, purchase = pl.col("event") == "click", pl.col("event") == "purchase"
    value = pl.col("value").fill_null(0.0)
    per_unit = (
        events.join(assignments.select("unit_id", "exposed_at"), on="unit_id")
        .filter(pl.col("ts") >= pl.col("exposed_at") - PRE_PERIOD)
        .group_by("unit_id")
        .agg(
            post.sum().alias("events"),
            pre.sum().alias("events_pre"),
            (click & post).sum().alias("clicks"),
            (click & pre).sum().alias("clicks_pre"),
            (purchase & post).sum().alias("purchases"),
            (purchase & pre).sum().alias("purchases_pre"),
            pl.when(purchase & post).then(value).otherwise(0.0).sum().alias("revenue"),
            pl.when(purchase & pre)
            .then(value)
            .otherwise(0.0)
            .sum()
            .alias("revenue_pre"),
        )
    )
    return (
        assignments.select("unit_id", "variant")
        .join(per_unit, on="unit_id", how="left")
        .with_columns(
            pl.col(*UNIT_COLUMNS[:6]).fill_null(0).cast(pl.Int64),
            pl.col("revenue", "revenue_pre").fill_null(0.0),
        )
        .with_columns(
            (pl.col("purchases") > 0).cast(pl.Int64).alias("converted"),
            (pl.col("purchases_pre") > 0).cast(pl.Int64).alias("converted_pre"),
        )
    )


def polars_sums(directory: Path) -> dict[str, dict[str, Any]]:
    """variant -> n and every KPI's Σy, Σy², Σx, Σx², Σxy (limit.sql's names)."""
    import polars as pl

    sums: list[pl.Expr] = [pl.len().alias("n")]
    for kpi in KPIS:
        y, x = pl.col(kpi).cast(pl.Float64), pl.col(f"{kpi}_pre").cast(pl.Float64)
        sums += [
            y.sum().alias(f"{kpi}__sum"),
            (y * y).sum().alias(f"{kpi}__sum_sq"),
            x.sum().alias(f"{kpi}__pre__sum"),
            (x * x).sum().alias(f"{kpi}__pre__sum_sq"),
            (y * x).sum().alias(f"{kpi}__pre__sum_prod"),
        ]
    frame = polars_unit_values(directory).group_by("variant").agg(sums).collect()
    return {str(row["variant"]): row for row in frame.to_dicts()}


def polars_numbers(directory: Path) -> Numbers:
    """The polars contender's final numbers."""
    return numbers_from_rows(polars_sums(directory))


# --- pandas ---------------------------------------------------------------------


def pandas_unit_values(directory: Path) -> pd.DataFrame:
    """One row per assigned unit: variant and every KPI's value and pre-period value."""
    import pandas as pd

    assignments = pd.read_parquet(directory / "assignments.parquet")
    events = pd.read_parquet(directory / "events.parquet")
    # each event's exposure by an index lookup: one new column, not a merged copy
    exposed = events["unit_id"].map(assignments.set_index("unit_id")["exposed_at"])
    post = events["ts"] >= exposed
    pre = ~post & (events["ts"] >= exposed - PRE_PERIOD)
    click, purchase = events["event"] == "click", events["event"] == "purchase"
    revenue = events["value"].fillna(0.0).where(purchase, 0.0)
    flags = pd.DataFrame(
        {
            "unit_id": events["unit_id"],
            "events": post,
            "events_pre": pre,
            "clicks": click & post,
            "clicks_pre": click & pre,
            "purchases": purchase & post,
            "purchases_pre": purchase & pre,
            "revenue": revenue.where(post, 0.0),
            "revenue_pre": revenue.where(pre, 0.0),
        }
    )
    del events, exposed, revenue
    per_unit = flags.groupby("unit_id", sort=False).sum()
    units: pd.DataFrame = assignments[["unit_id", "variant"]].merge(
        per_unit, left_on="unit_id", right_index=True, how="left"
    )
    units[list(UNIT_COLUMNS)] = units[list(UNIT_COLUMNS)].fillna(0.0)
    units["converted"] = (units["purchases"] > 0).astype("float64")
    units["converted_pre"] = (units["purchases_pre"] > 0).astype("float64")
    return units


def pandas_sums(directory: Path) -> dict[str, dict[str, Any]]:
    """variant -> n and every KPI's Σy, Σy², Σx, Σx², Σxy (limit.sql's names)."""
    import pandas as pd

    units = pandas_unit_values(directory)
    columns: dict[str, pd.Series[float]] = {}
    for kpi in KPIS:
        y, x = units[kpi].astype("float64"), units[f"{kpi}_pre"].astype("float64")
        columns |= {
            f"{kpi}__sum": y,
            f"{kpi}__sum_sq": y * y,
            f"{kpi}__pre__sum": x,
            f"{kpi}__pre__sum_sq": x * x,
            f"{kpi}__pre__sum_prod": y * x,
        }
    terms = pd.DataFrame(columns).assign(variant=units["variant"])
    grouped = terms.groupby("variant", sort=True)
    sums = grouped.sum().assign(n=grouped.size())
    return {str(variant): row.to_dict() for variant, row in sums.iterrows()}


def pandas_numbers(directory: Path) -> Numbers:
    """The pandas contender's final numbers."""
    return numbers_from_rows(pandas_sums(directory))


# --- abkit ----------------------------------------------------------------------


def abkit_api_numbers(directory: Path) -> Numbers:
    """abkit.analyze on the generated exp.yaml, read as the JSON payload."""
    import abkit

    return abkit_numbers(abkit.analyze(directory / "exp.yaml").to_dict())
