"""The day-14 refresh benchmark runs end to end and compares equal numbers.

On a 20k-event log, one repeat: the primed day-13 state, then a full analysis and an
incremental refresh of day 14 in their own processes. Times are not asserted.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from bench.like_for_like.generate import ensure_data
from bench.like_for_like.refresh_bench import bench, same_numbers, table, time_ordered


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


def test_time_ordered_copy_holds_the_same_events_sorted(tmp_path: Path) -> None:
    directory = tmp_path / "20k"
    ensure_data(directory, 20_000, seed=3)
    ordered = time_ordered(directory)
    assert ordered == tmp_path / "20k-by-time"
    events = ordered / "events.parquet"
    stamps = pq.read_table(events, columns=["ts"])["ts"].to_pylist()
    assert stamps == sorted(stamps)
    query = (
        "SELECT COUNT(*), BIT_XOR(HASH(unit_id, ts, event, value)) FROM read_parquet(?)"
    )
    with duckdb.connect(":memory:") as con:  # not the shared default connection
        same = [
            con.execute(query, [str(d / "events.parquet")]).fetchall()
            for d in (directory, ordered)
        ]
    assert same[0] == same[1]
    assert (ordered / "exp.yaml").read_text() == (directory / "exp.yaml").read_text()
    written = events.stat().st_mtime_ns
    assert time_ordered(directory) == ordered  # reused while the manifest matches
    assert events.stat().st_mtime_ns == written
