"""Planning a cluster-randomized experiment: units × the design effect, clusters counted."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower

from abkit.analysis.planning import plan
from abkit.config import load_experiment
from abkit.stats.power.clusters import cluster_size, design_effect
from tests.handmade import write_log

START = dt.datetime(2026, 3, 2)
METRICS = {
    "city_messages": {"kind": "mean", "events": ["message"], "window": {"end_day": 7}},
    "likes": {"kind": "mean", "events": ["like"], "window": {"end_day": 7}},
    "message_p90": {"kind": "quantile", "events": ["message"], "value": "value",
                    "quantile": 0.9, "window": {"end_day": 7}},
}  # fmt: skip


def city_history(directory: Path, users: int = 3000, cities: int = 30) -> Path:
    """Users randomized by city, with 10 days of events before exposure and 7 after."""
    rng = np.random.default_rng(17)
    city = rng.integers(0, cities, users)
    arm = np.where(rng.permutation(cities) % 2 == 0, "control", "treatment")
    ids = np.arange(users)
    exposed = START + pd.to_timedelta(rng.integers(0, 4 * 24, users), unit="h")
    assignments = pd.DataFrame({"user_id": ids, "variant": arm[city],
                                "exposed_at": exposed, "city": city})  # fmt: skip
    rate = rng.lognormal(0.8, 0.6, cities)[city]
    rows = []
    for name, per_day in (("message", rate / 7), ("like", np.full(users, 3 / 7))):
        counts = rng.poisson(per_day * 17)
        user = np.repeat(ids, counts)
        offset = pd.to_timedelta(rng.uniform(-10, 7, counts.sum()), unit="D")
        rows.append(pd.DataFrame({"user_id": user, "ts": exposed[user] + offset,
                                  "event": name, "value": 1.0}))  # fmt: skip
    data = {
        "assignments": {"path": "assignments.parquet", "unit_id": "user_id",
                        "timestamp": "exposed_at", "cluster": "city"},
        "events": {"path": "events.parquet", "unit_id": "user_id", "timestamp": "ts"},
    }  # fmt: skip
    path = write_log(directory, assignments, pd.concat(rows), METRICS,
                     {"control": 0.5, "treatment": 0.5}, data=data)  # fmt: skip
    assignments.to_parquet(directory / "assignments.parquet")  # keep the city column
    return path


@pytest.fixture(scope="module")
def city_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return city_history(tmp_path_factory.mktemp("cluster_plan"))


def history_rows(path: Path, event: str) -> pd.DataFrame:
    """Per-user counts of `event` in the 7 days before exposure, by pandas."""
    assignments = pd.read_parquet(path.parent / "assignments.parquet")
    events = pd.read_parquet(path.parent / "events.parquet")
    events = events[events["event"] == event].merge(assignments, on="user_id")
    before = (events["ts"] >= events["exposed_at"] - pd.Timedelta(days=7)) & (
        events["ts"] < events["exposed_at"]
    )
    counts = events[before].groupby("user_id").size()
    rows = assignments.set_index("user_id")
    rows["y"] = counts.reindex(rows.index, fill_value=0).astype(float)
    return rows.reset_index()


def anova_icc(rows: pd.DataFrame) -> tuple[float, float]:
    """One-way ANOVA ICC over cities (both arms pooled) and mean units per city."""
    groups = rows.groupby("city")["y"]
    k, n = groups.ngroups, len(rows)
    sizes, means = groups.size(), groups.mean()
    msb = float((sizes * (means - rows["y"].mean()) ** 2).sum()) / (k - 1)
    msw = float(((rows["y"] - groups.transform("mean")) ** 2).sum()) / (n - k)
    n0 = (n - float((sizes**2).sum()) / n) / (k - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw), n / k


def test_clustered_plan_needs_the_design_effect_times_the_units(city_exp: Path) -> None:
    """n = ⌈n_iid·(1 + (m − 1)·ICC)⌉ with m and ICC recomputed from the rows."""
    result = plan(city_exp, mde=0.1)
    row = next(r for r in result.rows if r.metric == "city_messages")
    rows = history_rows(city_exp, "message")
    rho, m = anova_icc(rows)
    assert row.icc == pytest.approx(rho, rel=1e-9)
    assert row.units_per_cluster == pytest.approx(m, rel=1e-12)
    assert row.std == pytest.approx(rows["y"].std(ddof=1), rel=1e-9)
    n_iid = NormalIndPower().solve_power(
        effect_size=0.1 * rows["y"].mean() / rows["y"].std(ddof=1),
        alpha=0.05,
        power=0.8,
    )
    deff = 1 + (m - 1) * rho
    assert row.design_effect == pytest.approx(deff, rel=1e-9)
    assert deff > 5  # a strong city effect: far more units than an i.i.d. plan
    assert row.n_per_arm == math.ceil(n_iid * deff)
    assert row.n_clusters == 2 * math.ceil(n_iid * deff / m)
    assert row.days == math.ceil(row.n_total / result.daily_units)
    assert result.history_clusters == 30


def test_unclustered_plan_of_the_same_history_is_smaller_by_the_design_effect(
    city_exp: Path,
) -> None:
    experiment = load_experiment(city_exp)
    assignments = experiment.data.assignments.model_copy(update={"cluster": None})
    data = experiment.data.model_copy(update={"assignments": assignments})
    units = {r.metric: r for r in plan(
        experiment.model_copy(update={"data": data}), mde=0.1
    ).rows}  # fmt: skip
    clusters = {r.metric: r for r in plan(city_exp, mde=0.1).rows}
    for name in ("city_messages", "likes"):
        clustered, iid = clusters[name], units[name]
        assert math.isnan(iid.design_effect) and iid.n_clusters == 0
        ratio = clustered.n_per_arm / iid.n_per_arm
        assert ratio == pytest.approx(clustered.design_effect, rel=2e-3)
        assert clustered.mde_in_days == pytest.approx(
            iid.mde_in_days * math.sqrt(clustered.design_effect), rel=2e-3
        )  # the reachable MDE widens by √DEFF
    assert clusters["city_messages"].design_effect > 5
    assert (
        clusters["likes"].icc == 0.0
    )  # no city effect: a negative estimate, planned as 0
    assert clusters["likes"].design_effect == 1.0


def test_plan_text_counts_clusters_and_does_not_size_quantiles(city_exp: Path) -> None:
    result = plan(city_exp, mde=0.1)
    quantile = next(r for r in result.rows if r.metric == "message_p90")
    assert quantile.status == "quantile_not_sized" and quantile.n_total == 0
    text = str(result)
    assert "randomized by city" in text and "30 clusters in the history" in text
    row = next(r for r in result.rows if r.metric == "city_messages")
    assert f"{row.n_clusters:,} clusters (more than the history has)" in text
    assert "quantile_not_sized" in text


def test_design_effect_equals_the_exchangeable_covariance_variance() -> None:
    """1ᵀΣ1/N² over K clusters of m units with correlation ρ is DEFF·σ²/N."""
    k, m, rho, sigma = 6, 8, 0.07, 2.5
    block = sigma**2 * ((1 - rho) * np.eye(m) + rho * np.ones((m, m)))
    covariance = np.kron(np.eye(k), block)
    n = k * m
    exact = float(np.ones(n) @ covariance @ np.ones(n)) / n**2
    assert exact / (sigma**2 / n) == pytest.approx(design_effect(m, rho), rel=1e-12)


def test_clusters_needed_equal_a_plan_over_cluster_means() -> None:
    """Clusters per arm = an i.i.d. plan whose units are cluster means (Var σ²·DEFF/m)."""
    m, rho, sigma, delta = 40.0, 0.03, 1.0, 0.1
    n_iid = NormalIndPower().solve_power(
        effect_size=delta / sigma, alpha=0.05, power=0.8
    )
    size = cluster_size((n_iid, n_iid), m, rho)
    cluster_sd = sigma * math.sqrt((1 + (m - 1) * rho) / m)
    clusters = NormalIndPower().solve_power(
        effect_size=delta / cluster_sd, alpha=0.05, power=0.8
    )
    assert size.clusters_per_arm == (math.ceil(clusters), math.ceil(clusters))
    assert size.design_effect == pytest.approx(2.17, rel=1e-12)
    assert size.units_per_arm[0] == math.ceil(n_iid * 2.17)


def test_design_effect_refuses_impossible_inputs() -> None:
    assert design_effect(1, 0.5) == 1.0
    with pytest.raises(ValueError, match="units_per_cluster"):
        design_effect(0.5, 0.1)
    with pytest.raises(ValueError, match="icc"):
        design_effect(5, -0.5)  # below −1/(m − 1) = −0.25
    with pytest.raises(ValueError, match="icc"):
        design_effect(5, 1.2)
