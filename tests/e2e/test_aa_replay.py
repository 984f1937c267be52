"""A/A replay: calibrated metrics pass, a metric analysed at the wrong unit is flagged."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from abkit.analysis.aa_replay import aa_replay
from abkit.frontends.cli import app
from abkit.stats.rates import clopper_pearson, empirical_rate
from tests.handmade import write_log

START = dt.datetime(2026, 3, 2)
METRICS = {
    "city_messages": {"kind": "mean", "events": ["message"], "window": {"end_day": 7}},
    "likes": {"kind": "mean", "events": ["like"], "window": {"end_day": 7}},
}


def test_clopper_pearson_matches_beta_quantiles() -> None:
    """The exact band is Beta(α/2; k, n−k+1) .. Beta(1−α/2; k+1, n−k)."""
    low, high = clopper_pearson(7, 120, 0.95)
    assert low == pytest.approx(stats.beta.ppf(0.025, 7, 114), rel=1e-9)
    assert high == pytest.approx(stats.beta.ppf(0.975, 8, 113), rel=1e-9)
    assert empirical_rate(30, 100, 0.05).status == "too_many_rejections"
    assert empirical_rate(5, 100, 0.05).status == "ok"
    assert empirical_rate(0, 400, 0.05).status == "too_few_rejections"
    assert empirical_rate(0, 400, 0.05, at_most=True).status == "ok"


def city_log(directory: Path, users: int = 2400, cities: int = 24) -> Path:
    """Users randomized by city; messages share a strong city effect, likes do not."""
    rng = np.random.default_rng(8)
    city = rng.integers(0, cities, users)
    city_arm = np.where(rng.permutation(cities) % 2 == 0, "control", "treatment")
    ids = np.arange(users)
    exposed = START + pd.to_timedelta(rng.integers(0, 3 * 24, users), unit="h")
    assignments = pd.DataFrame({"user_id": ids, "variant": city_arm[city],
                                "exposed_at": exposed, "city": city})  # fmt: skip
    city_rate = rng.lognormal(1.0, 0.8, cities)
    rows = []
    for name, rate in (("message", city_rate[city]), ("like", np.full(users, 3.0))):
        counts = rng.poisson(rate)
        user = np.repeat(ids, counts)
        offset = pd.to_timedelta(rng.uniform(0, 6.9, counts.sum()), unit="D")
        rows.append(pd.DataFrame({"user_id": user, "ts": exposed[user] + offset,
                                  "event": name, "value": 1.0}))  # fmt: skip
    late = pd.DataFrame({"user_id": [0], "ts": [START + dt.timedelta(days=12)],
                         "event": ["ping"], "value": [1.0]})  # fmt: skip
    data = {
        "assignments": {"path": "assignments.parquet", "unit_id": "user_id",
                        "timestamp": "exposed_at", "cluster": "city"},
        "events": {"path": "events.parquet", "unit_id": "user_id", "timestamp": "ts"},
    }  # fmt: skip
    path = write_log(directory, assignments, pd.concat([*rows, late]), METRICS,
                     {"control": 0.5, "treatment": 0.5}, data=data,
                     cuped={"enabled": True})  # fmt: skip
    assignments.to_parquet(directory / "assignments.parquet")  # keep the city column
    return path


@pytest.fixture(scope="module")
def city_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return city_log(tmp_path_factory.mktemp("aa"))


def test_replay_flags_metric_analysed_below_the_randomization_unit(
    city_exp: Path,
) -> None:
    """Per-user tests of a city-randomized metric reject far more often than α."""
    result = aa_replay(city_exp, runs=120, seed=3)
    assert result.randomization_unit == "city"
    rates = {(row.metric, row.test): row.rate for row in result.rows}
    wrong = rates[("city_messages", "fixed_horizon")]
    assert wrong.status == "too_many_rejections"
    assert wrong.rate > 0.3
    assert rates[("city_messages", "sequential")].rate > 0.05
    assert rates[("likes", "fixed_horizon")].status == "ok"
    assert rates[("likes", "fixed_horizon")].trials == 120
    assert {row.metric for row in result.flagged} == {"city_messages"}
    assert "OFF: too many false positives" in str(result)


def test_same_seed_same_replay(city_exp: Path) -> None:
    first = aa_replay(city_exp, runs=20, seed=5).to_dict()
    assert aa_replay(city_exp, runs=20, seed=5).to_dict() == first
    assert aa_replay(city_exp, runs=20, seed=6).to_dict() != first


def test_cli_aa_json_and_strict(city_exp: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["aa", str(city_exp), "--runs", "40", "-f", "json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["runs"] == 40
    assert {row["test"] for row in payload["rows"]} == {
        "fixed_horizon", "cuped", "sequential"
    }  # fmt: skip
    strict = runner.invoke(app, ["aa", str(city_exp), "--runs", "40", "--strict"])
    assert strict.exit_code == 1
    bad = runner.invoke(app, ["aa", str(city_exp), "--runs", "0"])
    assert bad.exit_code == 2
    assert "--runs 0 must be between 1 and 10,000" in bad.output
