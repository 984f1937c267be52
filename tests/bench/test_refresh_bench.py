"""The day-14 refresh benchmark runs end to end and compares equal numbers.

On a 20k-event log, one repeat: the primed day-13 state, then a full analysis and an
incremental refresh of day 14 in their own processes. Times are not asserted.
"""

from __future__ import annotations

from pathlib import Path

from bench.like_for_like.generate import ensure_data
from bench.like_for_like.refresh_bench import bench, same_numbers, table


def test_refresh_bench_small(tmp_path: Path) -> None:
    directory = tmp_path / "20k"
    ensure_data(directory, 20_000, seed=3)
    figures = bench(directory, repeats=1)
    assert figures["equal"] is True
    assert figures["full"]["how"] == "full analysis"
    assert figures["refresh"]["how"] == (
        "refresh: incremental, scanned events since 2026-03-14 (state kept up to "
        "2026-03-15)"
    )
    assert "refresh / full:" in table(figures)


def test_same_numbers_tolerance() -> None:
    assert same_numbers({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-13]})
    assert not same_numbers({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-9]})
    assert same_numbers({"p": float("nan")}, {"p": float("nan")})
    assert not same_numbers({"a": 1}, {"b": 1})
