"""The like-for-like benchmark computes the same numbers on every side.

A small generated log (20k events) goes through the limit (limit.sql + the CUPED
Welch finish), abkit.analyze, polars and pandas in this process; every final number
must agree with the limit's to a relative 1e-9. No timings are asserted.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench.like_for_like.contenders import (
    abkit_api_numbers,
    pandas_numbers,
    polars_numbers,
)
from bench.like_for_like.generate import ensure_data, parse_count
from bench.like_for_like.limit import limit_numbers
from bench.like_for_like.numbers import FIELDS, KPIS, Numbers, largest_difference

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("like_for_like")
    ensure_data(directory, 20_000, seed=11)
    return directory


@pytest.fixture(scope="module")
def limit(data_dir: Path) -> Numbers:
    return limit_numbers(data_dir)


def one_row(sql: str) -> tuple[Any, ...]:
    row = duckdb.connect().execute(sql).fetchone()
    assert row is not None
    return row


def all_rows(sql: str) -> list[tuple[Any, ...]]:
    return duckdb.connect().execute(sql).fetchall()


def test_generated_data_has_the_planned_shape(data_dir: Path) -> None:
    units, variants, per_unit = one_row(
        f"SELECT COUNT(*), COUNT(DISTINCT variant), COUNT(*) = COUNT(DISTINCT unit_id) "
        f"FROM '{data_dir / 'assignments.parquet'}'"
    )
    assert (units, variants, per_unit) == (2_000, 2, True)
    kinds, bad_values, older, after = one_row(
        f"""SELECT list_sort(list_distinct(list(event))),
                   COUNT(*) FILTER (WHERE (value IS NOT NULL) != (event = 'purchase')),
                   COUNT(*) FILTER (WHERE e.ts < a.exposed_at - INTERVAL 14 DAY),
                   COUNT(*) FILTER (WHERE e.ts >= a.exposed_at)
            FROM '{data_dir / "events.parquet"}' AS e
            JOIN '{data_dir / "assignments.parquet"}' AS a USING (unit_id)"""
    )
    assert kinds == ["click", "purchase", "view"]
    assert bad_values == 0
    # about 1 day in 29 lies before the pre-period, about 14 in 29 after exposure
    events = 20_000
    assert 0.02 * events < older < 0.06 * events
    assert 0.40 * events < after < 0.56 * events


def test_generation_is_seeded(tmp_path: Path, data_dir: Path) -> None:
    again = tmp_path / "again"
    ensure_data(again, 20_000, seed=11)
    for name in ("assignments.parquet", "events.parquet"):
        first = all_rows(f"SELECT * FROM '{data_dir / name}'")
        assert all_rows(f"SELECT * FROM '{again / name}'") == first


def test_counts_parse_and_the_limit_is_plausible(limit: Numbers) -> None:
    assert parse_count("10M") == 10_000_000
    assert parse_count("20k") == 20_000
    assert limit["events"]["control_n"] + limit["events"]["treatment_n"] == 2_000
    for kpi in KPIS:
        assert 0 < limit[kpi]["theta"] < 2, kpi
        assert math.isfinite(limit[kpi]["pvalue"]), kpi
    assert 0 < limit["converted"]["control_mean"] < 1


@pytest.mark.parametrize(
    "side",
    [abkit_api_numbers, polars_numbers, pandas_numbers],
    ids=lambda f: f.__name__,
)
def test_side_equals_the_limit(side, data_dir: Path, limit: Numbers) -> None:
    numbers = side(data_dir)
    assert set(numbers) == set(KPIS)
    for kpi in KPIS:
        assert set(FIELDS) <= set(numbers[kpi]), kpi
    worst = largest_difference(limit, numbers)
    assert worst.value < TOLERANCE, worst
    assert numbers["events"]["control_n"] == limit["events"]["control_n"]
