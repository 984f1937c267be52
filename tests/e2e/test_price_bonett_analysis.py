"""Price–Bonett medians end to end: exp.yaml → quantiles.sql → scorecard, vs numpy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import abkit
from abkit.analysis.queries import run_queries
from abkit.config import load_experiment
from abkit.errors import ConfigError
from abkit.frontends.cli import app
from abkit.stats.price_bonett import price_bonett_rank
from tests.e2e.test_quantile_analysis import session_log
from tests.handmade import write_log
from tests.stats.test_price_bonett import median_arm

VARIANTS = {"control": 0.5, "treatment": 0.5}
MEDIAN = {
    "kind": "quantile",
    "events": ["session"],
    "value": "value",
    "quantile": 0.5,
    "interval": "price_bonett",
    "window": {"end_day": 7},
}
METRICS = {
    "total_median": MEDIAN,
    "total_p50_outer": MEDIAN | {"interval": "outer"},
}  # fmt: skip


def unit_totals(units: int) -> dict[str, np.ndarray]:
    """Each unit's 7-day total of session values, by arm, with pandas."""
    assignments, events = session_log(units)
    events = events[events["event"] == "session"].merge(assignments, on="user_id")
    totals = events.groupby(["variant", "user_id"])["value"].sum()
    return {arm: totals[arm].to_numpy() for arm in ("control", "treatment")}


@pytest.fixture(scope="module")
def median_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assignments, events = session_log(1999)  # odd and even arm sizes
    return write_log(tmp_path_factory.mktemp("median"), assignments, events, METRICS,
                     VARIANTS, relative_ci="fieller")  # fmt: skip


def test_sql_median_and_bounds_match_numpy(median_exp: Path) -> None:
    """n, the median, a, y₍ₐ₎, y₍ₙ₋ₐ₊₁₎ and the minimum, as numpy has them."""
    frame = run_queries(load_experiment(median_exp)).quantiles
    assert frame is not None
    totals = unit_totals(1999)
    rows: list[dict[Any, Any]] = frame[frame["metric"] == "total_median"].to_dict(
        "records"
    )
    assert {len(totals[r["variant"]]) % 2 for r in rows} == {0, 1}
    for row in rows:
        ordered = np.sort(totals[row["variant"]])
        n, a = len(ordered), price_bonett_rank(len(ordered))
        assert row["interval"] == "price_bonett"
        assert row["n"] == n
        assert (row["lower_rank"], row["upper_rank"]) == (a, n - a + 1)
        assert row["quantile"] == pytest.approx(np.median(ordered), rel=1e-12)
        assert (row["lower"], row["upper"], row["minimum"]) == pytest.approx(
            (ordered[a - 1], ordered[n - a], ordered[0]), rel=1e-12
        )


def test_sql_rank_equals_r_rounding_for_every_size() -> None:
    """The template's FLOOR(n/2 − √n + 0.5) is R's round for n = 1 … 200,000."""
    import duckdb

    rows = (
        duckdb.connect()
        .execute(
            "SELECT CAST(GREATEST(1, FLOOR(n / 2.0 - SQRT(n) + 0.5)) AS BIGINT) "
            "FROM range(1, 200001) t(n) ORDER BY n"
        )
        .fetchall()
    )
    assert [row[0] for row in rows] == [price_bonett_rank(n) for n in range(1, 200_001)]


def test_scorecard_row_is_price_bonett(median_exp: Path) -> None:
    result = abkit.analyze(median_exp)
    median = result.metric("total_median")
    totals = unit_totals(1999)
    effect = median.effect
    expected, _ = abkit.stats.price_bonett.median_difference(
        median_arm(totals["control"]), median_arm(totals["treatment"]), 0.05
    )
    assert effect.difference == pytest.approx(expected.difference, rel=1e-12)
    assert effect.standard_error == pytest.approx(expected.standard_error, rel=1e-12)
    assert effect.relative_ci_lower == pytest.approx(expected.relative_ci_lower)
    assert median.relative_ci_method == "price_bonett"  # positive values: log ratio
    assert "Price–Bonett" in median.note
    outer = result.metric("total_p50_outer")
    assert outer.relative_ci_method == "fieller"  # relative_ci: fieller, outer CI
    assert "outer CI" in outer.note
    assert effect.difference == pytest.approx(
        np.median(totals["treatment"]) - np.median(totals["control"]), rel=1e-12
    )
    from abkit.report.html import render_html
    from abkit.report.terminal import render

    assert "Price–Bonett" in render(result, "markdown")
    assert "Price–Bonett" in render_html(result)


def test_cli_json_names_the_interval(median_exp: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    runner = CliRunner()
    done = runner.invoke(app, ["analyze", str(median_exp), "--format", "json",
                               "--output", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.output
    rows = {m["metric"]: m for m in json.loads(out.read_text())["metrics"]}
    assert rows["total_median"]["relative_ci_method"] == "price_bonett"
    assert (
        "Price–Bonett CI of the difference of medians" in rows["total_median"]["note"]
    )
    table = runner.invoke(app, ["analyze", str(median_exp)])
    assert "Price–Bonett" in table.stdout


@pytest.mark.parametrize(
    ("change", "words"),
    [({"quantile": 0.9}, "quantile: 0.9 at level: unit"),
     ({"level": "event"}, "quantile: 0.5 at level: event")],
)  # fmt: skip
def test_price_bonett_only_for_unit_medians(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    assignments, events = session_log(20)
    path = write_log(tmp_path, assignments, events, {"m": MEDIAN | change}, VARIANTS)
    with pytest.raises(ConfigError, match="use interval: outer") as caught:
        load_experiment(path)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
    done = CliRunner().invoke(app, ["analyze", str(path)])
    assert done.exit_code == 2
    assert done.stderr.strip().count("\n") == 0
    assert "interval: price_bonett is for the median" in done.stderr


def test_interval_only_for_quantile_metrics(tmp_path: Path) -> None:
    assignments, events = session_log(20)
    metric = {"kind": "mean", "events": ["session"], "interval": "price_bonett"}
    path = write_log(tmp_path, assignments, events, {"m": metric}, VARIANTS)
    with pytest.raises(ConfigError, match="kind: quantile metrics only"):
        load_experiment(path)


def test_values_at_or_below_zero_use_the_delta_lift(tmp_path: Path) -> None:
    """A unit with no session counts 0: no log scale, the note says so."""
    assignments, events = session_log(400)
    keep = ~(events["user_id"].isin([0, 1]) & (events["event"] == "session"))
    path = write_log(tmp_path, assignments, events[keep], {"m": MEDIAN}, VARIANTS)
    median = abkit.analyze(path).metric("m")
    assert median.relative_ci_method == "delta"
    assert "delta method on the Price–Bonett standard errors" in median.note
    frame = pd.DataFrame(run_queries(load_experiment(path)).quantiles)
    assert frame["minimum"].tolist() == [0.0, 0.0]  # units 0 and 1: one per arm
    assert median.effect.relative_ci_lower < median.effect.relative
