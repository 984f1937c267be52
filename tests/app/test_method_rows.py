"""The app on a city-randomized experiment with a quantile metric and Fieller CIs."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

import abkit
from abkit.analysis.clusters import PER_UNIT_NOTE
from abkit.analysis.results import AnalysisResult
from abkit.analysis.text import format_pvalue
from tests.app.conftest import APP_DIR
from tests.app.test_pages import open_page, start, table, texts

sys.path.insert(0, str(APP_DIR))
from components import as_text

from tests.test_cluster_planning import city_history


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("city_app")
    path = city_history(folder / "city")
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "relative_ci": "fieller"}))
    return folder


@pytest.fixture(scope="module")
def city_result(city_dir: Path) -> AnalysisResult:
    return abkit.analyze(city_dir / "city" / "exp.yaml")


@pytest.fixture
def city_app(city_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return start(city_dir, monkeypatch, exp="case")


def test_scorecard_shows_quantile_fieller_and_cluster_rows(
    city_app: AppTest, city_result: AnalysisResult
) -> None:
    open_page(city_app, "scorecard")
    shown = table(city_app, "scorecard_table").set_index("metric")
    assert list(shown.index) == ["city_messages", "likes", "message_p90"]
    assert set(shown["CUPED variance"]) == {"not applied"}
    fieller = {m.metric: m.fieller for m in city_result.metrics}
    assert all(f is not None for f in fieller.values())
    for name, interval in fieller.items():
        assert interval is not None
        label = (
            "Fieller"
            if interval.status == "bounded"
            else f"Fieller ({interval.status})"
        )
        assert shown.loc[name, "relative CI"] == label
    messages_interval = fieller["city_messages"]
    assert messages_interval is not None and messages_interval.status == "bounded"
    methods = next(
        m.value for m in city_app.markdown if m.value.startswith("**Methods**")
    )
    messages = city_result.metric("city_messages")
    assert "randomized by city" in messages.note
    icc_text = messages.note.split("ICC ")[1].split(")")[0]
    assert float(icc_text) > 0.3  # a strong city effect
    assert as_text(f"ICC {icc_text}") in methods and "design effect" in methods
    assert as_text("CUPED not applied to quantile metrics") in methods
    assert as_text(PER_UNIT_NOTE) in methods  # the quantile row is per unit
    srm = city_result.srm
    assert sum(srm.counts) == 30  # SRM counts cities
    line = (
        f"Sample ratio over city clusters: control {srm.counts[0]:,}, treatment "
        f"{srm.counts[1]:,} (p {format_pvalue(srm.pvalue)})"
    )
    assert any(as_text(line) in t for t in texts(city_app)), line
    assert any("randomized by **city**" in c for c in texts(city_app))


def test_over_time_and_plan_pages_say_what_counts_clusters(city_app: AppTest) -> None:
    open_page(city_app, "over_time")
    infos = " ".join(i.value for i in city_app.info)
    assert "Randomized by city" in infos
    assert "the daily series and the sequential looks are cluster-robust" in infos
    open_page(city_app, "plan")
    shown = table(city_app, "plan_table").set_index("metric")
    row = shown.loc["city_messages"]
    assert row["design_effect"] == pytest.approx(
        1 + (row["units_per_cluster"] - 1) * row["icc"], rel=1e-12
    )
    assert row["n_clusters"] > 30 and row["n_total"] > row["n_clusters"]
    assert shown.loc["message_p90", "status"] == "quantile_not_sized"
    assert any("Randomized by" in i.value for i in city_app.info)


def test_cluster_results_label_what_is_cluster_robust(
    city_result: AnalysisResult,
) -> None:
    messages = city_result.metric("city_messages")
    assert "segments and the daily series are cluster-robust too" in messages.note
    quantile = city_result.metric("message_p90")
    assert PER_UNIT_NOTE in quantile.note
    assert math.isfinite(quantile.effect.difference)
