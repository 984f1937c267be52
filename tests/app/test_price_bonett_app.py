"""The app on a Price–Bonett median: the relative CI column and the method note."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP_DIR
from tests.app.test_pages import open_page, start, table
from tests.e2e.test_price_bonett_analysis import METRICS, VARIANTS
from tests.e2e.test_quantile_analysis import session_log
from tests.handmade import write_log

sys.path.insert(0, str(APP_DIR))
from components import as_text


@pytest.fixture(scope="module")
def median_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("median_app")
    assignments, events = session_log(800)
    write_log(folder / "median", assignments, events, METRICS, VARIANTS)
    return folder


def test_scorecard_names_the_price_bonett_interval(
    median_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: AppTest = start(median_dir, monkeypatch, exp="case")
    open_page(app, "scorecard")
    shown = table(app, "scorecard_table").set_index("metric")
    assert shown.loc["total_median", "relative CI"] == "price_bonett"
    assert shown.loc["total_p50_outer", "relative CI"] == "delta"
    methods = next(m.value for m in app.markdown if m.value.startswith("**Methods**"))
    assert as_text("Price–Bonett CI of the difference of medians") in methods
    assert as_text("outer CI by order statistics") in methods
