"""A/A replay of quantile metrics: per-run order statistics, rates, the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from abkit.analysis.aa_replay import aa_replay
from abkit.analysis.queries import locked_engine, query_frame
from abkit.config import load_experiment
from abkit.frontends.cli import app
from abkit.sql.replay import render_aa_replay_quantiles_sql
from abkit.stats.price_bonett import price_bonett_rank
from abkit.stats.quantile import design_effect, point_rank, rank_bounds
from tests.e2e.test_quantile_analysis import session_log
from tests.handmade import write_log
from tests.stats.test_quantile import cluster_sums
from tests.test_cluster_planning import city_history

SEED = 5
UNITS = 1200
METRICS: dict[str, dict[str, Any]] = {
    "total_p50": {"kind": "quantile", "events": ["session"], "value": "value",
                  "quantile": 0.5, "window": {"end_day": 7}},
    "total_median": {"kind": "quantile", "events": ["session"], "value": "value",
                     "quantile": 0.5, "interval": "price_bonett",
                     "window": {"end_day": 7}},
    "session_p90": {"kind": "quantile", "events": ["session"], "value": "value",
                    "quantile": 0.9, "level": "event", "window": {"end_day": 7}},
}  # fmt: skip


@pytest.fixture(scope="module")
def session_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assignments, events = session_log(UNITS)
    return write_log(tmp_path_factory.mktemp("replay_q"), assignments, events,
                     METRICS, {"control": 0.5, "treatment": 0.5})  # fmt: skip


def pseudo_arms(units: np.ndarray, run: int) -> dict[int, str]:
    """The replay's hash re-assignment of each unit id, by DuckDB's hash."""
    con = duckdb.connect()
    con.register("u", pd.DataFrame({"unit_id": units}))
    rows = con.execute(
        "SELECT unit_id, CASE WHEN hash(CAST(unit_id AS VARCHAR) || ? || "
        "CAST(? AS VARCHAR)) % 2 = 0 THEN 'A' ELSE 'B' END FROM u",
        [f"|{SEED}|", run],
    ).fetchall()
    return {int(unit): str(arm) for unit, arm in rows}


def expected_arm(
    metric: str, values: np.ndarray, clusters: np.ndarray
) -> tuple[int, float, tuple[int, int], float, np.ndarray]:
    """n, quantile, ranks, bounds (and deff) as the replay should return them."""
    z = float(stats.norm.ppf(0.975))
    ordered = np.sort(values)
    n = ordered.size
    if metric == "total_median":
        a = price_bonett_rank(n)
        ranks = (a, n - a + 1)
        return n, float(np.median(ordered)), ranks, 1.0, ordered
    p = float(METRICS[metric]["quantile"])
    quantile = float(ordered[point_rank(n, p) - 1])
    deff = 1.0
    if metric == "session_p90":
        deff = design_effect(cluster_sums(values, clusters, quantile))
    return n, quantile, rank_bounds(n, p, z, deff), deff, ordered


def test_replay_order_statistics_match_numpy(session_exp: Path) -> None:
    """Runs 0 and 3: every metric × pseudo-arm as numpy has it on re-assigned rows."""
    experiment = load_experiment(session_exp)
    sql = render_aa_replay_quantiles_sql(experiment, 4, SEED)
    assert sql is not None
    with locked_engine(experiment) as engine:
        frame = query_frame(engine, sql)
    assert len(frame) == 3 * 4 * 2
    assignments, events = session_log(UNITS)
    sessions = events[events["event"] == "session"]
    totals = sessions.groupby("user_id")["value"].sum()
    for run in (0, 3):
        arms = pseudo_arms(assignments["user_id"].to_numpy(), run)
        records: list[dict[Any, Any]] = frame[frame["run"] == run].to_dict("records")
        for row in records:
            if row["metric"] == "session_p90":
                rows = sessions[sessions["user_id"].map(arms) == row["variant"]]
                values, clusters = rows["value"].to_numpy(), rows["user_id"].to_numpy()
            else:
                picked = totals[totals.index.map(arms) == row["variant"]]
                values, clusters = picked.to_numpy(), picked.index.to_numpy()
            n, quantile, ranks, deff, ordered = expected_arm(
                row["metric"], values, clusters
            )
            assert row["n"] == n
            assert row["quantile"] == pytest.approx(quantile, rel=1e-12)
            assert (row["lower_rank"], row["upper_rank"]) == ranks
            assert (row["lower"], row["upper"]) == pytest.approx(
                (ordered[ranks[0] - 1], ordered[ranks[1] - 1]), rel=1e-12
            )
            assert row["deff"] == pytest.approx(deff, rel=1e-9)


def test_quantile_false_positive_rates_are_near_alpha(session_exp: Path) -> None:
    """No effect, units i.i.d.: every quantile test rejects near α = 5%."""
    result = aa_replay(session_exp, runs=100, seed=SEED)
    rows = {row.metric: row for row in result.rows}
    assert set(rows) == set(METRICS)
    for name in METRICS:
        rate = rows[name].rate
        assert rows[name].test == "fixed_horizon"
        assert rate.trials == 100
        assert rate.rate <= 0.15  # wide: a 99% band around 5% for 100 runs
        assert rate.status in ("ok", "too_few_rejections")
    text = str(result)
    assert "total_median" in text
    assert "(Price–Bonett) at the fixed horizon only" in text
    assert "(outer CI) at the fixed horizon only" in text
    assert result.skipped == ()


def test_city_randomized_quantile_is_flagged(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A per-unit p90 of a city-randomized metric rejects far more often than α."""
    path = city_history(tmp_path_factory.mktemp("replay_city"))
    result = aa_replay(path, runs=40, seed=5)
    rows = {(row.metric, row.test): row.rate for row in result.rows}
    assert rows[("message_p90", "fixed_horizon")].status == "too_many_rejections"
    assert rows[("likes", "fixed_horizon")].status == "ok"
    done = CliRunner().invoke(
        app, ["aa", str(path), "--runs", "40", "--seed", "5", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    listed = [r for r in payload["rows"] if r["metric"] == "message_p90"]
    assert [r["test"] for r in listed] == ["fixed_horizon"]
    assert listed[0]["flagged"]
    assert payload["skipped"] == []
    assert payload["notes"][0].startswith("message_p90: quantile metric, replayed")
