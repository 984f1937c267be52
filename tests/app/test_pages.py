"""The Streamlit pages on the demo data: they run and show the library's numbers."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

import abkit
from abkit.analysis.results import AnalysisResult, HealthCheck, MetricResult
from abkit.analysis.text import format_lift, format_pvalue
from abkit.errors import ConfigError
from abkit.frontends.app_support import DIR_ENV, STORE_FILENAME, primary_metric
from abkit.report.formatting import VERDICT_MARKS
from abkit.store.store import ResultStore
from tests.app.conftest import APP_DIR, APP_FILE, EXPERIMENT, copy_experiments

sys.path.insert(0, str(APP_DIR))
from components import as_text

PAGES = [
    "experiments",
    "scorecard",
    "over_time",
    "segments",
    "plan",
    "discussion",
    "share",
]
TIMEOUT = 90  # the first analysis of a folder runs the demo's queries


def lift(metric: MetricResult) -> str:
    effect = metric.effect
    return format_lift(
        effect.relative, effect.relative_ci_lower, effect.relative_ci_upper
    )


def start(folder: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv(DIR_ENV, str(folder))
    app = AppTest.from_file(APP_FILE, default_timeout=TIMEOUT)
    app.query_params.update(params)
    return app.run()


def open_page(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


TABLE_COLUMNS = {
    "experiments_table": "primary lift [CI]",
    "scorecard_table": "lift [CI]",
    "segments_table": "n (control / treatment)",
    "segments_srm": "flagged",
    "plan_table": "metric",
}


def table(app: AppTest, name: str) -> pd.DataFrame:
    """The first data frame with the table's telltale column (AppTest keeps no key)."""
    column = TABLE_COLUMNS[name]
    for frame in app.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise KeyError(name)


def texts(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown] + [c.value for c in app.caption]


@pytest.fixture
def app(app_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return start(app_dir, monkeypatch, exp=EXPERIMENT)


def test_every_page_runs_without_errors(app: AppTest):
    assert not app.exception
    for page in PAGES:
        open_page(app, page)
        assert not app.error, (page, [e.value for e in app.error])
        assert app.query_params["exp"] == EXPERIMENT, page
        assert app.selectbox(key="experiment").value == EXPERIMENT


def test_experiments_page_shows_the_primary_result(
    app: AppTest, expected: AnalysisResult
):
    experiment = abkit.load_experiment(expected_path(app))
    primary = expected.metric(primary_metric(experiment))
    open_page(app, "scorecard")  # opening analyses it; the list then shows it
    open_page(app, "experiments")
    shown = table(app, "experiments_table")
    row = shown.set_index("experiment").loc[expected.title]
    assert row["primary lift [CI]"] == lift(primary)
    assert row["analysed"] == "now"
    assert row["recommendation"] == "Keep running"
    assert row["health"] == "ok, 2 warning(s)"
    assert row["owner"] == experiment.owner
    assert "running" in row["status"]


def test_the_list_comes_from_the_files_and_stored_snapshots(
    demo_exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    expected: AnalysisResult,
):  # fmt: skip
    folder = copy_experiments(demo_exp, tmp_path)
    copy = folder / "examples" / "exp_copy.yaml"
    spec = yaml.safe_load((folder / "examples" / "exp.yaml").read_text())
    copy.write_text(yaml.safe_dump({**spec, "name": "icebreaker_copy"}))
    started = time.perf_counter()
    app = start(folder, monkeypatch)
    seconds = time.perf_counter() - started
    shown = table(app, "experiments_table").set_index("experiment")
    assert list(shown["analysed"]) == ["not yet: open it"] * 2
    assert seconds < 15, seconds  # no analysis ran (one takes about 5 s here)
    copy_label = f"{expected.title} (examples/exp_copy.yaml)"  # same titles told apart
    assert list(shown.index) == [f"{expected.title} (examples/exp.yaml)", copy_label]
    payload = expected.to_dict()
    payload["health"] = [
        {**c, "status": "failed"} if c["name"] == "srm" else c
        for c in payload["health"]
    ]
    with ResultStore(folder / STORE_FILENAME) as store:
        store.save_snapshot(
            "icebreaker_copy", payload, config_hash=expected.config_hash,
            window_start=None, window_end=None, engine="duckdb", abkit_version="x",
        )  # fmt: skip
    app.run()
    shown = table(app, "experiments_table").set_index("experiment")
    row = shown.loc[copy_label]
    assert row["analysed"].startswith("snapshot ")
    assert row["health"] == "FAILED: srm"
    assert row["recommendation"] == "Investigate data quality"
    primary = expected.metric("messages_per_user")
    assert row["primary lift [CI]"] == lift(primary)


def test_an_unknown_link_says_not_found_and_stays(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    app = start(app_dir, monkeypatch, exp="no_such_experiment")
    for page in ("scorecard", "experiments", "plan"):
        open_page(app, page)
        errors = [e.value for e in app.error]
        assert any("was not found" in e and "no\\_such" in e for e in errors), errors
        assert app.query_params["exp"] == "no_such_experiment"
        assert app.selectbox(key="experiment").value is None
    assert not app.title or app.title[0].value in ("Experiments",)


def test_the_guardrail_block_and_chance_to_win_on_the_scorecard(
    app: AppTest, expected: AnalysisResult
):
    open_page(app, "scorecard")
    block = next(m.value for m in app.markdown if m.value.startswith("| guardrail"))
    guard = expected.metric("report_rate").guardrail
    assert guard is not None
    row = next(line for line in block.splitlines() if "report\\_rate" in line)
    assert as_text("+10.0%") in row
    assert as_text(f"+11.8% [{guard.ci_lower:+.1%}, {guard.ci_upper:+.1%}]") in row
    assert ":orange[**not yet shown safe**]" in row
    bayes = expected.metric("messages_per_user").bayes
    assert bayes is not None
    cards = {m.label: m.value for m in app.metric}
    assert cards["Chance to win · treatment"] == f"{bayes.chance_to_win:.0%}"
    shown = table(app, "scorecard_table")
    assert "P(better)" in shown.columns
    assert shown.set_index("metric").loc["matches_per_user", "verdict"] == (
        "· keep running"  # the design's sequential test, not the fixed p < 0.05
    )


def test_user_text_is_shown_as_text(
    demo_exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = copy_experiments(demo_exp, tmp_path)
    path = folder / "examples" / "exp.yaml"
    spec = yaml.safe_load(path.read_text())
    hostile = "Pixel ![x](http://evil.example/p.png) :red[boom] $x$"
    spec |= {"title": hostile, "owner": "<b>eve</b>", "hypothesis": hostile}
    path.write_text(yaml.safe_dump(spec))
    app = start(folder, monkeypatch, exp=EXPERIMENT)
    open_page(app, "scorecard")
    assert app.title[0].value == as_text(hostile)
    shown = " ".join(texts(app))
    assert "![x](" not in shown and ":red[" not in shown and "<b>" not in shown
    assert as_text(hostile) in shown


def expected_path(app: AppTest) -> Path:
    import os

    return Path(os.environ[DIR_ENV]) / "examples" / "exp.yaml"


def test_scorecard_shows_the_api_numbers(app: AppTest, expected: AnalysisResult):
    open_page(app, "scorecard")
    experiment = abkit.load_experiment(expected_path(app))
    primary = expected.metric(primary_metric(experiment))

    assert app.metric[0].value == lift(primary)
    assert app.title[0].value == expected.title
    assert expected.decision is not None
    assert f"#### {as_text(expected.decision.summary)}" in texts(app)
    shown = table(app, "scorecard_table")
    assert list(shown["metric"]) == [m.metric for m in expected.metrics]
    assert list(shown["lift [CI]"]) == [lift(m) for m in expected.metrics]
    assert list(shown["p-value"]) == [
        format_pvalue(m.effect.pvalue) for m in expected.metrics
    ]
    if any(m.adjusted_pvalue is not None for m in expected.metrics):
        assert list(shown["adjusted p"]) == [
            format_pvalue(m.adjusted_pvalue) if m.adjusted_pvalue is not None else ""
            for m in expected.metrics
        ]
    warnings = [w.value for w in app.warning]
    for check in expected.health:
        if check.status == "warning":
            assert any(as_text(check.message) in w for w in warnings), check.name
    assert len(app.get("plotly_chart")) == 1


def test_scorecard_segment_filter(app: AppTest, expected: AnalysisResult):
    open_page(app, "scorecard")
    row = expected.segment_results[0]
    label = f"{row.segment} = {row.segment_value}"
    app.selectbox(key="scorecard_segment").set_value(label).run()
    assert not app.exception
    rows = [
        r
        for r in expected.segment_results
        if (r.segment, r.segment_value) == (row.segment, row.segment_value)
    ]
    shown = table(app, "scorecard_table")
    assert list(shown["lift [CI]"]) == [lift(r) for r in rows]
    assert any("exploratory" in i.value for i in app.info)


def test_cuped_toggle_and_correction_reach_the_api(
    app: AppTest, app_dir: Path, expected: AnalysisResult
):
    open_page(app, "scorecard")
    path = app_dir / "examples" / "exp.yaml"
    primary = primary_metric(abkit.load_experiment(path))
    app.toggle(key="cuped").set_value(False).run()
    assert not app.exception
    plain = abkit.analyze(path, cuped=False)
    assert app.metric[0].value == lift(plain.metric(primary))
    assert app.metric[0].value != lift(expected.metric(primary))
    assert app.query_params["cuped"] == "off"

    app.selectbox(key="correction").set_value("bonferroni").run()
    assert not app.exception
    assert app.query_params["correction"] == "bonferroni"
    assert "Multiple-testing correction: bonferroni" in texts(app)


def test_a_link_restores_the_options(app_dir: Path, monkeypatch: pytest.MonkeyPatch):
    app = start(app_dir, monkeypatch, exp=EXPERIMENT, cuped="off")
    assert app.toggle(key="cuped").value is False
    assert app.selectbox(key="experiment").value == EXPERIMENT


def test_over_time_and_segments_show_the_api_series(
    app: AppTest, expected: AnalysisResult
):
    experiment = abkit.load_experiment(expected_path(app))
    primary = primary_metric(experiment)
    open_page(app, "over_time")
    series = expected.series_for(primary)
    assert series is not None and series.current is not None
    look = series.current
    assert app.metric[0].value == format_lift(
        look.relative, look.relative_ci_lower, look.relative_ci_upper
    )
    if expected.sequential is not None:
        lower, upper = look.sequential_relative
        assert app.metric[1].value == f"[{lower:+.1%}, {upper:+.1%}]"
    assert expected.novelty, "the demo's primary metric has a day-by-day effect"
    first = next(p for p in expected.novelty if p.variant == look_variant(expected))
    assert any(f"{first.metric}, {first.variant} vs" in t for t in texts(app))

    open_page(app, "segments")
    assert any("Exploratory" in i.value for i in app.info)
    segment = app.selectbox(key="segments_segment").value
    rows = sorted(
        (
            r
            for r in expected.segment_results
            if r.segment == segment and r.metric == primary
        ),
        key=lambda r: str(r.segment_value),
    )
    shown = table(app, "segments_table")
    assert list(shown["lift [CI]"]) == [lift(r) for r in rows]
    srm = table(app, "segments_srm")
    assert list(srm["SRM p"]) == [
        format_pvalue(s.srm.pvalue)
        for s in expected.segment_srm
        if s.segment == segment
    ]


def test_plan_page_shows_the_api_plan(app: AppTest, app_dir: Path):
    open_page(app, "plan")
    assert not app.error, [e.value for e in app.error]
    path = app_dir / "examples" / "exp.yaml"
    rules = abkit.load_experiment(path).decision
    mde = rules.minimum_effect if rules and rules.minimum_effect else 0.05
    expected = abkit.plan(path, mde=mde, days=14, power=0.8).to_frame()
    pd.testing.assert_frame_equal(
        table(app, "plan_table").reset_index(drop=True), expected
    )

    app.number_input(key="plan_days").set_value(28)
    app.button(key="plan_submit").click().run()
    longer = abkit.plan(path, mde=mde, days=28, power=0.8).to_frame()
    pd.testing.assert_frame_equal(
        table(app, "plan_table").reset_index(drop=True), longer
    )


def test_adding_a_note_persists_it(app: AppTest, app_dir: Path):
    open_page(app, "discussion")
    app.text_input(key="note_author").input("ana")
    app.selectbox(key="note_metric").set_value("messages_per_user")
    app.text_area(key="note_text").input("Messages look flat on Android")
    app.button(key="note_submit").click().run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]

    with ResultStore(app_dir / STORE_FILENAME) as store:
        notes = store.notes(EXPERIMENT)
    assert notes[0].text == "Messages look flat on Android"
    assert notes[0].author == "ana"
    assert notes[0].metric == "messages_per_user"
    assert "Messages look flat on Android" in [t.value for t in app.text]
    assert app.text_input(key="decision_author").value == "ana"  # carried over

    app.text_input(key="decision_author").input("ben")
    app.selectbox(key="decision_choice").set_value("extend")
    app.text_area(key="decision_rationale").input("Not enough power yet")
    app.button(key="decision_submit").click().run()
    assert not app.exception
    with ResultStore(app_dir / STORE_FILENAME) as store:
        decision = store.latest_decision(EXPERIMENT)
    assert decision is not None
    assert (decision.decision, decision.author) == ("extend", "ben")
    assert decision.config_hash == abkit.load_experiment(expected_path(app)).config_hash


def test_an_empty_note_is_refused(app: AppTest, app_dir: Path):
    open_page(app, "discussion")
    app.text_input(key="note_author").input("ana")
    app.button(key="note_submit").click().run()
    assert [e.value for e in app.error] == ["A note needs your name and some text."]


def test_share_page_offers_the_report_and_the_link(
    app: AppTest, expected: AnalysisResult
):
    open_page(app, "share")
    assert app.code[0].value == f"scorecard?exp={EXPERIMENT}"
    assert any(expected.title in m.value for m in app.markdown)


def test_a_broken_experiment_shows_its_message(
    demo_exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = copy_experiments(demo_exp, tmp_path)
    broken = folder / "examples" / "exp_broken.yaml"
    spec = yaml.safe_load((folder / "examples" / "exp.yaml").read_text())
    spec["name"] = "broken"
    spec["metrics"] = [*spec["metrics"], "revnue_per_user"]
    broken.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError) as info:
        abkit.load_experiment(broken)
    relative = "examples/exp_broken.yaml"
    message = f"**{as_text(relative)}** does not load: {as_text(info.value)}"

    app = start(folder, monkeypatch)
    assert not app.exception
    assert [e.value for e in app.error] == [message]
    assert not (folder / STORE_FILENAME).exists()  # viewing never creates the store
    shown = table(app, "experiments_table")
    assert list(shown["experiment"]) == [expected_title(folder)]
    assert shown["analysed"][0] == "not yet: open it"

    app.query_params["exp"] = "examples/exp_broken.yaml"
    open_page(app, "scorecard")
    broken_message = f"**{as_text(relative)} is broken**: {as_text(info.value)}"
    assert [e.value for e in app.error] == [broken_message]
    app.query_params["exp"] = EXPERIMENT
    open_page(app, "scorecard")
    assert not app.error
    assert (
        app.title[0].value
        == abkit.load_experiment(folder / "examples" / "exp.yaml").title
    )


def _banner(result, app_dir):  # run by AppTest from its source: no annotations
    import sys

    sys.path.insert(0, app_dir)
    import components

    components.health_failures(result)
    components.decision_summary(result, "messages_per_user")
    components.health_warnings(result)


def test_a_failed_health_check_cannot_be_missed(expected: AnalysisResult):
    failed = HealthCheck("srm", "failed", "split 52/48 differs from the plan 50/50")
    result = dataclasses.replace(expected, health=(failed, *expected.health))
    app = AppTest.from_function(
        _banner, args=(result, str(APP_DIR)), default_timeout=TIMEOUT
    )
    app.run()
    assert not app.exception
    assert len(app.error) == 1
    assert "do not trust these numbers" in app.error[0].value
    assert failed.message in app.error[0].value
    assert app.main.children[0].type == "error"  # above the recommendation


def look_variant(result) -> str:
    return result.novelty[0].variant


def test_the_forest_plots_show_every_point_and_interval(expected: AnalysisResult):
    from abkit.report.charts import app_forest_figure

    groups = {
        "scorecard": list(expected.metrics),
        "segments": [
            r for r in expected.segment_results if r.metric == "payer_conversion"
        ],
    }
    for name, rows in groups.items():
        figure = app_forest_figure(
            rows, [f"{r.metric} {r.segment_value}" for r in rows]
        )
        low, high = figure.layout.xaxis.range
        for trace in figure.data:
            ends = zip(
                trace.x, trace.error_x.arrayminus, trace.error_x.array, strict=True
            )
            for x, minus, plus in ends:
                assert low < x - minus and x + plus < high, (name, x, low, high)
    payer = expected.metric("payer_conversion").effect.relative
    assert payer < -0.2  # the point that a ±20% axis used to hide


def expected_title(folder: Path) -> str:
    return abkit.load_experiment(folder / "examples" / "exp.yaml").title


def test_as_of_picker_sequential_view_and_metric_breakdown(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    import datetime as dt

    as_of = dt.date(2026, 10, 15)
    app = start(app_dir, monkeypatch, exp=EXPERIMENT, as_of=as_of.isoformat())
    open_page(app, "scorecard")
    earlier = abkit.analyze(app_dir / "examples" / "exp.yaml", as_of=as_of)
    assert app.query_params["as_of"] == as_of.isoformat()
    assert app.metric[0].value == lift(earlier.metric("messages_per_user"))
    assert any(f"as of {as_of.isoformat()}" in c.value for c in app.caption)

    app.radio(key="scorecard_view").set_value("Fixed horizon").run()
    shown = table(app, "scorecard_table").set_index("metric")
    fixed = earlier.metric("matches_per_user").verdict
    assert shown.loc["matches_per_user", "verdict"] == VERDICT_MARKS[fixed]

    open_page(app, "segments")
    breakdown = next(
        f.value for f in app.dataframe if "messages_per_user" in f.value.columns
        and "report_rate" in f.value.columns
    )  # fmt: skip
    segment = breakdown.columns[0]
    row = next(
        r for r in earlier.segment_results
        if r.segment == segment and r.metric == "report_rate"
    )  # fmt: skip
    cell = breakdown.set_index(segment).loc[str(row.segment_value), "report_rate"]
    assert cell.startswith(lift(row))
