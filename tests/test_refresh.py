"""Incremental refresh equals a full recomputation, and says when it recomputes.

The like-for-like log (units exposed 2 to 8 March 2026, events to 22 March) is
refreshed morning after morning; every number of the refreshed result must equal
`analyze` on the same morning to 1e-12 (relative, or absolute for numbers near zero
such as a difference of two close means: a unit's revenue summed in two parts rounds
differently in the last bit).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest

from abkit.analysis.queries import EngineChoice
from abkit.analysis.refresh import (
    RefreshOutcome,
    not_additive,
    refresh_analysis,
    state_path,
)
from abkit.analysis.refresh.steps import Steps
from abkit.analysis.run import analyze
from abkit.config import load_experiment
from bench.like_for_like.generate import ensure_data

TOLERANCE = 1e-12

# the benchmark's KPIs plus a 7-day windowed metric (censored while its window is
# open), a winsorized one (a pooled percentile cap) and an any-event proportion
EXTRA_METRICS = """\
  clicks_7d:
    kind: mean
    events: [click]
    window: {end_day: 7}
  revenue_capped:
    kind: mean
    events: [purchase]
    value: value
    winsorize: {upper: 0.95, source: experiment}
  active_days:
    kind: mean
    events: [click, view, purchase]
    aggregate: active_days
"""


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("refresh_source")
    ensure_data(directory, 20_000, seed=5)
    metrics = directory / "metrics.yaml"
    metrics.write_text(metrics.read_text() + EXTRA_METRICS)
    exp = directory / "exp.yaml"
    text = exp.read_text().replace(
        "metrics: [events, clicks, purchases, revenue, converted]",
        "metrics: [events, clicks, purchases, revenue, converted, clicks_7d,"
        " revenue_capped, active_days]",
    )
    exp.write_text(text)
    return directory


@pytest.fixture
def data_dir(source_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    shutil.copytree(source_dir, directory)
    return directory


def morning(day: int) -> dt.date:
    return dt.date(2026, 3, day)


def numbers_equal(refreshed: Any, full: Any, where: str = "") -> list[str]:
    """Paths where two result dictionaries differ beyond TOLERANCE."""
    if isinstance(full, dict):
        return [
            d
            for key in full
            for d in numbers_equal(refreshed[key], full[key], f"{where}/{key}")
        ]
    if isinstance(full, list):
        assert len(refreshed) == len(full), where
        return [
            d
            for i, (a, b) in enumerate(zip(refreshed, full, strict=True))
            for d in numbers_equal(a, b, f"{where}[{i}]")
        ]
    if isinstance(full, float) and isinstance(refreshed, float):
        if math.isnan(full) and math.isnan(refreshed):
            return []
        if math.isclose(refreshed, full, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            return []
        return [f"{where}: {refreshed!r} != {full!r}"]
    return [] if refreshed == full else [f"{where}: {refreshed!r} != {full!r}"]


def result_dict(result: Any) -> Any:
    """The result as JSON, without its creation time."""
    return json.loads(json.dumps(result.to_dict(), default=str)) | {"created_at": None}


def refresh(data_dir: Path, day: int) -> tuple[Any, RefreshOutcome]:
    return refresh_analysis(
        data_dir / "exp.yaml", data_dir / "state", as_of=morning(day)
    )


def test_daily_refresh_equals_full_recomputation(data_dir: Path) -> None:
    first = refresh(data_dir, 6)[1]
    assert not first.incremental
    assert first.reason == "no stored state yet"
    for day in (9, 12, 13, 16):
        result, outcome = refresh(data_dir, day)
        assert outcome.incremental, outcome.reason
        assert outcome.next_cut == morning(day - 1)  # the 1-day late-data buffer
        full = analyze(data_dir / "exp.yaml", as_of=morning(day))
        assert numbers_equal(result_dict(result), result_dict(full)) == []
    metrics = {m["metric"] for m in result_dict(result)["metrics"]}
    assert {"clicks_7d", "revenue_capped", "active_days"} <= metrics


def test_late_event_inside_the_buffer_is_picked_up(data_dir: Path) -> None:
    refresh(data_dir, 12)
    # a purchase arriving late, stamped on the buffer day (11 March, after the cut)
    add_event(data_dir, "2026-03-11 12:00:00")
    result, outcome = refresh(data_dir, 13)
    assert outcome.incremental, outcome.reason
    full = analyze(data_dir / "exp.yaml", as_of=morning(13))
    assert numbers_equal(result_dict(result), result_dict(full)) == []


def test_changed_events_before_the_watermark_force_a_full_recomputation(
    data_dir: Path,
) -> None:
    refresh(data_dir, 12)
    add_event(data_dir, "2026-03-05 08:00:00")
    result, outcome = refresh(data_dir, 13)
    assert not outcome.incremental
    assert outcome.reason == "events before the watermark changed (day 2026-03-05)"
    assert "full recomputation" in outcome.describe()
    full = analyze(data_dir / "exp.yaml", as_of=morning(13))
    assert numbers_equal(result_dict(result), result_dict(full)) == []
    assert refresh(data_dir, 14)[1].incremental  # the renewed state is used again


def test_changed_config_forces_a_full_recomputation(data_dir: Path) -> None:
    refresh(data_dir, 12)
    exp = data_dir / "exp.yaml"
    exp.write_text(exp.read_text().replace("pre_period_days: 14", "pre_period_days: 7"))
    result, outcome = refresh(data_dir, 13)
    assert outcome.reason == "the configuration changed since the state was kept"
    full = analyze(exp, as_of=morning(13))
    assert numbers_equal(result_dict(result), result_dict(full)) == []


def test_as_of_before_the_kept_cut_recomputes(data_dir: Path) -> None:
    refresh(data_dir, 14)
    outcome = refresh(data_dir, 10)[1]
    assert outcome.reason == "--as-of 2026-03-10 is before the kept cut 2026-03-13"


def test_state_lives_beside_the_store(data_dir: Path) -> None:
    refresh(data_dir, 9)
    experiment = load_experiment(data_dir / "exp.yaml")
    path = state_path(data_dir / "state", experiment)
    assert path.name == "like_for_like.refresh.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT document FROM meta").fetchone()
    assert row is not None
    meta = json.loads(row[0])
    assert meta["cut"] == "2026-03-08"
    parts = meta["parts"]
    assert parts["delta"] is None  # a full computation folds everything into the base
    base = path.with_name(f"{path.name}.units.{parts['units']['slot']}.parquet")
    units = pq.read_table(base)
    exposed = pq.read_table(data_dir / "assignments.parquet").num_rows
    assert units.num_rows == exposed == parts["units"]["rows"]  # one row per unit
    assert units.column_names[:4] == ["exposed_at", "variant", "has_events", "unit_id"]
    assert 0 < pa.compute.sum(units["has_events"]).as_py() < exposed
    # the buffer holds the aggregates of the last day's events, per unit
    kept_buffer = path.with_name(
        f"{path.name}.buffer.{parts['buffer']['slot']}.parquet"
    )
    buffered = (pq.read_table(kept_buffer).num_rows,)
    events = data_dir / "events.parquet"
    assignments = data_dir / "assignments.parquet"
    day = run_sql(
        f"SELECT COUNT(DISTINCT unit_id) FROM read_parquet('{events}')"
        " WHERE ts >= TIMESTAMP '2026-03-08' AND ts < TIMESTAMP '2026-03-09'"
        f" AND unit_id IN (SELECT unit_id FROM read_parquet('{assignments}'))"
    )[0]
    assert buffered == day


def run_sql(sql: str) -> list[tuple[object, ...]]:
    """One statement on its own in-memory connection, every row fetched.

    Not the module's default connection: a result left unfetched there by one test
    would make the next statement on it fail.
    """
    with duckdb.connect(":memory:") as con:
        return con.execute(sql).fetchall()


def add_event(data_dir: Path, when: str) -> None:
    """Append one purchase of an exposed unit to the events file."""
    events = data_dir / "events.parquet"
    scratch = data_dir / "events.new.parquet"
    run_sql(
        f"COPY (SELECT * FROM read_parquet('{events}') UNION ALL BY NAME"
        f" (SELECT unit_id, TIMESTAMP '{when}' AS ts, 'purchase' AS event, 25.0 AS value"
        f" FROM read_parquet('{data_dir / 'assignments.parquet'}') LIMIT 1))"
        f" TO '{scratch}' (FORMAT parquet)"
    )
    scratch.replace(events)


def test_cli_refresh_says_what_it_scanned(data_dir: Path) -> None:
    from typer.testing import CliRunner

    from abkit.frontends.cli import app

    exp = str(data_dir / "exp.yaml")
    runner = CliRunner()
    first = runner.invoke(app, ["analyze", exp, "--as-of", "2026-03-12", "--refresh"])
    assert first.exit_code == 0, first.output
    assert "refresh: full recomputation (no stored state yet)" in " ".join(
        first.stderr.split()
    )
    second = runner.invoke(app, ["analyze", exp, "--as-of", "2026-03-13", "--refresh"])
    assert second.exit_code == 0, second.output
    assert (
        "refresh: incremental, scanned events since 2026-03-11 (state kept up to"
        " 2026-03-12)" in " ".join(second.stderr.split())
    )
    assert (data_dir / "abkit-refresh" / "like_for_like.refresh.duckdb").is_file()


def test_quantile_metrics_and_other_engines_run_in_full_and_say_why(
    data_dir: Path,
) -> None:
    metrics = data_dir / "metrics.yaml"
    metrics.write_text(
        metrics.read_text()
        + "  revenue_p90:\n    kind: quantile\n    events: [purchase]\n"
        "    value: value\n    quantile: 0.9\n"
    )
    exp = data_dir / "exp.yaml"
    exp.write_text(exp.read_text().replace("active_days]", "active_days, revenue_p90]"))
    result, outcome = refresh(data_dir, 12)
    assert outcome == RefreshOutcome(
        False, "quantiles read every unit's events and are not sums per day"
    )
    assert not (data_dir / "state").exists()  # nothing kept for a full-only analysis
    full = analyze(exp, as_of=morning(12))
    assert numbers_equal(result_dict(result), result_dict(full)) == []
    experiment = load_experiment(exp)
    reason = not_additive(experiment, EngineChoice(engine="postgres"))
    assert reason == "incremental refresh runs on abkit's own DuckDB engine only"


def test_refresh_without_as_of_uses_the_latest_event(data_dir: Path) -> None:
    exp, state = data_dir / "exp.yaml", data_dir / "state"
    first = refresh_analysis(exp, state)[1]
    assert first.next_cut == morning(21)  # latest event on 22 March, 1-day buffer
    # the buffer's events disappear (a late correction): the data now ends earlier
    events = data_dir / "events.parquet"
    kept = data_dir / "events.kept.parquet"
    run_sql(
        f"COPY (SELECT * FROM read_parquet('{events}') WHERE ts < TIMESTAMP"
        f" '2026-03-21') TO '{kept}' (FORMAT parquet)"
    )
    kept.replace(events)
    result, outcome = refresh_analysis(exp, state)
    assert outcome.incremental, outcome.reason
    full = analyze(exp)
    assert numbers_equal(result_dict(result), result_dict(full)) == []


@pytest.fixture
def uncapped_dir(data_dir: Path) -> Path:
    """The log without the winsorized metric: every refresh updates changed units."""
    exp = data_dir / "exp.yaml"
    exp.write_text(exp.read_text().replace(" revenue_capped,", ""))
    return data_dir


def assert_equals_full(data_dir: Path, day: int, result: Any) -> None:
    full = analyze(data_dir / "exp.yaml", as_of=morning(day))
    assert numbers_equal(result_dict(result), result_dict(full)) == []


def test_refresh_updates_only_changed_units_and_equals_full(uncapped_dir: Path) -> None:
    refresh(uncapped_dir, 7)
    for day in (9, 10, 14, 15, 20):
        result, outcome = refresh(uncapped_dir, day)
        assert outcome.incremental, outcome.reason
        assert "cap" not in outcome.note  # the kept moments were updated, not redone
        assert_equals_full(uncapped_dir, day, result)


def test_winsorizing_cap_that_moves_is_said(data_dir: Path) -> None:
    refresh(data_dir, 12)
    result, outcome = refresh(data_dir, 13)
    assert outcome.incremental
    assert outcome.note == (
        "cap revenue_capped__cap moved: moments recomputed from every unit's kept sums"
    )
    assert outcome.note in outcome.describe()
    assert_equals_full(data_dir, 13, result)


def rewrite_assignments(data_dir: Path, select: str) -> None:
    """Replace the assignments file by a query over it (`a` is the old file)."""
    path = data_dir / "assignments.parquet"
    scratch = data_dir / "assignments.new.parquet"
    run_sql(
        f"COPY (WITH a AS (SELECT * FROM read_parquet('{path}')) {select})"
        f" TO '{scratch}' (FORMAT parquet)"
    )
    scratch.replace(path)


def test_unit_seen_in_a_second_variant_is_removed_as_in_a_full_analysis(
    uncapped_dir: Path,
) -> None:
    refresh(uncapped_dir, 12)
    # the first unit with events is logged again, in the other variant, on 9 March
    rewrite_assignments(
        uncapped_dir,
        "SELECT * FROM a UNION ALL (SELECT unit_id, CASE variant WHEN 'control' THEN"
        " 'treatment' ELSE 'control' END, TIMESTAMP '2026-03-09 10:00:00' FROM a"
        " ORDER BY exposed_at LIMIT 1 OFFSET 5)",
    )
    result, outcome = refresh(uncapped_dir, 13)
    assert outcome.incremental, outcome.reason
    assert outcome.note == (
        "1 units no longer analysed (now seen in a second variant) removed"
    )
    assert_equals_full(uncapped_dir, 13, result)


def test_unit_whose_first_exposure_moved_is_rescanned(uncapped_dir: Path) -> None:
    refresh(uncapped_dir, 12)
    rewrite_assignments(
        uncapped_dir,
        "SELECT unit_id, variant, CASE WHEN unit_id IN (SELECT unit_id FROM a"
        " WHERE exposed_at >= TIMESTAMP '2026-03-05' ORDER BY unit_id LIMIT 3)"
        " THEN exposed_at - INTERVAL 1 DAY ELSE exposed_at END AS exposed_at FROM a",
    )
    result, outcome = refresh(uncapped_dir, 13)
    assert outcome.incremental, outcome.reason
    assert "3 units whose first exposure changed rescanned" in outcome.note
    assert_equals_full(uncapped_dir, 13, result)


def test_unreadable_state_is_rebuilt_and_said(uncapped_dir: Path) -> None:
    refresh(uncapped_dir, 12)
    experiment = load_experiment(uncapped_dir / "exp.yaml")
    path = state_path(uncapped_dir / "state", experiment)
    path.write_bytes(b"not a database" * 1000)
    result, outcome = refresh(uncapped_dir, 13)
    assert not outcome.incremental
    assert outcome.reason.startswith("the stored state cannot be read (")
    assert outcome.reason.endswith("); it is rebuilt")
    assert "\n" not in outcome.describe()
    assert_equals_full(uncapped_dir, 13, result)
    assert refresh(uncapped_dir, 14)[1].incremental  # the rebuilt state is used


def test_state_with_a_damaged_table_is_rebuilt(uncapped_dir: Path) -> None:
    refresh(uncapped_dir, 12)
    experiment = load_experiment(uncapped_dir / "exp.yaml")
    path = state_path(uncapped_dir / "state", experiment)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE health")
    result, outcome = refresh(uncapped_dir, 13)
    assert (
        outcome.reason
        == "the stored state cannot be read (tables are missing); it is rebuilt"
    )
    assert_equals_full(uncapped_dir, 13, result)


def kept_parts(data_dir: Path) -> dict[str, Any]:
    """The per-unit files the state's metadata names."""
    path = state_path(data_dir / "state", load_experiment(data_dir / "exp.yaml"))
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT document FROM meta").fetchone()
    assert row is not None
    parts: dict[str, Any] = json.loads(row[0])["parts"]
    return parts


@pytest.mark.parametrize("share", [10.0, 0.0])
def test_delta_and_fold_both_equal_full(
    uncapped_dir: Path, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10: the delta is never folded (it accumulates the units changed since the
    # full computation); 0: every refresh folds it into a new base
    monkeypatch.setattr("abkit.analysis.refresh.steps.FOLD_SHARE", share)
    refresh(uncapped_dir, 7)
    base_slot = kept_parts(uncapped_dir)["units"]["slot"]
    rows = []
    for day in (9, 10, 14, 20):
        result, outcome = refresh(uncapped_dir, day)
        assert outcome.incremental, outcome.reason
        assert_equals_full(uncapped_dir, day, result)
        parts = kept_parts(uncapped_dir)
        if share:
            assert parts["units"]["slot"] == base_slot  # the base is not rewritten
            rows.append(parts["delta"]["rows"])
        else:
            assert parts["delta"] is None
            assert parts["units"]["slot"] != base_slot  # a new base, the other slot
            base_slot = parts["units"]["slot"]
    if share:
        assert rows == sorted(rows)  # the newest row of every unit changed since
    files = sorted(p.name for p in (uncapped_dir / "state").iterdir())
    assert len([f for f in files if f.endswith(".parquet")]) == 2 + bool(share)


def test_refresh_killed_before_its_commit_leaves_an_exact_state(
    uncapped_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(uncapped_dir, 9)
    before = kept_parts(uncapped_dir)

    run = Steps.run

    def killed(self: Steps, sql: str) -> None:
        if sql == "BEGIN TRANSACTION":  # the new delta and buffer are written
            raise KeyboardInterrupt  # as if the process died before the commit
        run(self, sql)

    with monkeypatch.context() as patch:
        patch.setattr(Steps, "run", killed)
        with pytest.raises(KeyboardInterrupt):
            refresh(uncapped_dir, 12)
    written = sorted(p.name for p in (uncapped_dir / "state").glob("*.parquet"))
    named = [p for p in before.values() if p is not None]
    assert len(written) == 2 * len(named)  # the new files, beside the kept ones
    assert kept_parts(uncapped_dir) == before  # the old metadata and its files
    result, outcome = refresh(uncapped_dir, 12)
    assert outcome.incremental, outcome.reason
    assert_equals_full(uncapped_dir, 12, result)
    result, outcome = refresh(uncapped_dir, 13)
    assert outcome.incremental, outcome.reason
    assert_equals_full(uncapped_dir, 13, result)


def test_rewritten_per_unit_file_is_refused_and_rebuilt(uncapped_dir: Path) -> None:
    refresh(uncapped_dir, 9)
    path = state_path(
        uncapped_dir / "state", load_experiment(uncapped_dir / "exp.yaml")
    )
    slot = kept_parts(uncapped_dir)["buffer"]["slot"]
    buffer = path.with_name(f"{path.name}.buffer.{slot}.parquet")
    table = pq.read_table(buffer)
    pq.write_table(table.slice(1), buffer)  # a buffer row lost
    result, outcome = refresh(uncapped_dir, 12)
    assert outcome.reason == (
        f"the stored state cannot be read ({buffer.name} changed since it was kept);"
        " it is rebuilt"
    )
    assert_equals_full(uncapped_dir, 12, result)
