"""Exposed-unit counts per variant and group, read from moments.sql-shaped rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from abkit.aggregates.rows import Rows, unit_count, unit_counts

NA = None


def moments_rows() -> Rows:
    """Overall, segment and daily rows as moments.sql's GROUPING SETS return them."""
    day = dt.date(2026, 10, 5)
    rows = [
        # variant, exposure_key, platform, gender, n_units
        ("control", NA, NA, NA, 100),
        ("treatment", NA, NA, NA, 90),
        ("control", NA, "ios", NA, 60),
        ("control", NA, "android", NA, 40),
        ("treatment", NA, "ios", NA, 50),
        ("treatment", NA, "android", NA, 40),
        ("control", NA, NA, "f", 55),
        ("treatment", NA, NA, "f", 45),
        ("control", day, NA, NA, 70),
        ("treatment", day, NA, NA, 65),
        ("stray", NA, NA, NA, 3),
    ]
    names = ("variant", "exposure_key", "segment__platform", "segment__gender",
             "n_units")  # fmt: skip
    return [dict(zip(names, row, strict=True)) for row in rows]


def by_filter(records: Rows, variant: str, key: tuple[str, str] | None) -> int:
    """The count by plain pandas filtering: the variant's non-daily row of `key`."""
    rows = pd.DataFrame(records)
    selected = rows[(rows["variant"] == variant) & rows["exposure_key"].isna()]
    for column in ("segment__platform", "segment__gender"):
        if key is not None and column == f"segment__{key[0]}":
            selected = selected[selected[column] == key[1]]
        else:
            selected = selected[selected[column].isna()]
    return int(selected["n_units"].sum())


def test_unit_counts_equal_filtering_the_rows():
    rows = moments_rows()
    variants = ["control", "treatment", "absent"]
    keys = [None, ("platform", "ios"), ("platform", "android"), ("gender", "f"),
            ("gender", "m"), ("platform", "web"), ("country", "se")]  # fmt: skip
    counts = unit_counts(rows, variants, keys)
    for key in keys:
        assert counts[key] == [by_filter(rows, v, key) for v in variants], key
        assert [unit_count(rows, v, key) for v in variants] == counts[key]
    assert counts[None] == [100, 90, 0]
    assert counts[("platform", "ios")] == [60, 50, 0]
    assert counts[("gender", "m")] == [0, 0, 0]
