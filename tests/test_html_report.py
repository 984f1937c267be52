"""The HTML report: escaping, self-containment, DOM numbers, and a real browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import abkit
from abkit.analysis.results import AnalysisResult, DecisionResult, HealthCheck
from abkit.report.html import render_html
from abkit.report.json_output import render_json
from abkit.store.store import DecisionRecord, Note

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
NOW = dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.timezone.utc)
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# the inlined plotly.js bundle holds URLs in its own strings (map tiles, credits)
PLOTLY_BUNDLE = re.compile(r'<script id="plotly-js"[^>]*>.*?</script>', re.S)
REMOTE_ATTRIBUTE = re.compile(
    r"""\b(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//""", re.I
)
STYLESHEET_LINK = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?stylesheet", re.I)


@pytest.fixture(scope="module")
def demo_result(demo_exp: Path) -> AnalysisResult:
    return abkit.analyze(demo_exp)


def _notes() -> list[Note]:
    return [
        Note(
            1, "icebreaker_prompts", "ana", f"older {SCRIPT}", "messages_per_user", NOW
        ),
        Note(2, "icebreaker_prompts", "<b>bo</b>", "newer note", None, NOW),
    ]


def _decisions(config_hash: str) -> list[DecisionRecord]:
    return [
        DecisionRecord(1, "icebreaker_prompts", "extend", "more data", "ana", NOW, "0ld"),
        DecisionRecord(
            2, "icebreaker_prompts", "ship", f'"><img src=x onerror=alert(2)>{SCRIPT}',
            "bo", NOW, config_hash,
        ),
    ]  # fmt: skip


class _Rows(HTMLParser):
    """Collects the data-* attributes of the scorecard rows and every tag's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str | None]] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [(tag, name, value) for name, value in attrs]
        values = dict(attrs)
        if tag == "tr" and "data-metric" in values:
            self.rows.append(values)


def _parse(page: str) -> _Rows:
    parser = _Rows()
    parser.feed(page)
    return parser


def _same(dom: str | None, expected: float | None) -> bool:
    """A DOM number (repr of a float) against the JSON value (null for NaN/inf)."""
    assert dom is not None
    value = float(dom)
    if expected is None:
        return not math.isfinite(value)
    return value == pytest.approx(expected, rel=1e-12, abs=0.0)


def _assert_numbers_match(rows: list[dict[str, Any]], result: AnalysisResult) -> None:
    payload = json.loads(render_json(result))
    expected = {(m["metric"], m["variant"]): m for m in payload["metrics"]}
    assert len(rows) == len(expected)
    for row in rows:
        metric = expected[(row["metric"], row["variant"])]
        for key in ("relative", "pvalue"):
            assert _same(row[key], metric[key]), (row["metric"], key)
        assert row["verdict"] == metric["verdict"]


def test_user_text_is_escaped(demo_result: AnalysisResult) -> None:
    metrics = list(demo_result.metrics)
    metrics[0] = dataclasses.replace(
        metrics[0], metric=f"</script>{SCRIPT}", description=f"<i>desc</i>{SCRIPT}"
    )
    result = dataclasses.replace(
        demo_result, title=f"Test {SCRIPT}", metrics=tuple(metrics)
    )
    page = render_html(result, notes=_notes(), decisions=_decisions(result.config_hash))
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<b>bo</b>" not in page and "&lt;b&gt;bo&lt;/b&gt;" in page
    assert "<i>desc</i>" not in page
    assert page.count(ESCAPED) >= 4  # title (twice), note, rationale, metric
    # the figure JSON cannot close its <script> element early
    figures = re.search(r'id="abkit-figures">(.*?)</script>', page, re.S)
    assert figures is not None and "<" not in figures.group(1)


def test_page_is_self_contained(demo_result: AnalysisResult) -> None:
    page = render_html(
        demo_result, notes=_notes(), decisions=_decisions(demo_result.config_hash)
    )
    assert page.count('<script id="plotly-js"') == 1
    outside_bundle = PLOTLY_BUNDLE.sub("", page)
    assert not REMOTE_ATTRIBUTE.search(outside_bundle)
    assert not STYLESHEET_LINK.search(page)
    assert "@import" not in outside_bundle and "url(" not in outside_bundle
    for tag, name, value in _parse(page).attributes:
        if name in ("src", "href"):
            raise AssertionError(f"<{tag} {name}={value!r}> loads something")
    assert "Content-Security-Policy" in page
    assert len(page.encode()) < 2_500_000  # plotly.js packed: was 4.9 MB per report


def test_dom_numbers_and_meta_match_json(demo_result: AnalysisResult) -> None:
    page = render_html(demo_result)
    rows = [
        {key.removeprefix("data-"): value for key, value in row.items()}
        for row in _parse(page).rows
    ]
    _assert_numbers_match(rows, demo_result)
    meta = dict(re.findall(r'<meta name="(abkit-[\w-]+)" content="([^"]*)">', page))
    assert meta["abkit-config-hash"] == demo_result.config_hash
    assert meta["abkit-version"] == demo_result.abkit_version
    window = json.loads(render_json(demo_result))["window"]
    assert meta["abkit-window"] == f"{window['start']}/{window['end']}"


def test_summary_shows_the_decision_or_says_it_is_missing(
    demo_result: AnalysisResult,
) -> None:
    missing = render_html(dataclasses.replace(demo_result, decision=None))
    assert "primary decision isn't configured" in missing
    assert "recommendation:" not in missing
    decision = DecisionResult(
        "do_not_ship",
        f"Summary {SCRIPT}",
        ("reason one", f"reason {SCRIPT}"),
        "holm",
        (),
    )
    page = render_html(dataclasses.replace(demo_result, decision=decision))
    assert "primary decision isn't configured" not in page
    assert "Do not ship" in page and "reason one" in page
    assert "correction: holm" in page
    assert "<script>alert" not in page and f"Summary {ESCAPED}" in page


def test_failed_health_check_is_impossible_to_miss(demo_result: AnalysisResult) -> None:
    failed = HealthCheck("srm", "failed", "split is off (p = 0.0001)", 1e-4)
    result = dataclasses.replace(demo_result, health=(failed, *demo_result.health[1:]))
    page = render_html(result)
    banner = page.index('role="alert"')
    assert banner < page.index('id="summary"')
    assert "split is off (p = 0.0001)" in page[banner : page.index('id="summary"')]
    assert 'class="check-failed"' in page
    healthy = tuple(c for c in demo_result.health if c.status != "failed")
    assert 'role="alert"' not in render_html(
        dataclasses.replace(demo_result, health=healthy)
    )


def test_notes_and_decisions_newest_first(demo_result: AnalysisResult) -> None:
    page = render_html(
        demo_result, notes=_notes(), decisions=_decisions(demo_result.config_hash)
    )
    assert page.index('data-note-id="2"') < page.index('data-note-id="1"')
    assert page.index('data-decision-id="2"') < page.index('data-decision-id="1"')
    assert "another config than this report" in page  # decision 1 used config "0ld"
    empty = render_html(demo_result)
    assert "No notes yet." in empty and "No decision recorded yet." in empty


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def _pick_second_metric(page: Any, result: AnalysisResult) -> None:
    """The timeline's dropdown shows another metric's traces only."""
    series = [s for s in result.series if s.looks]
    page.click("#timeline-plot .updatemenu-header")
    page.locator("#timeline-plot .updatemenu-dropdown-button").nth(1).click()
    page.wait_for_function(
        "document.getElementById('timeline-plot').data[0].visible === false"
    )
    visible = page.evaluate(
        "document.getElementById('timeline-plot').data.map(t => t.visible === true)"
    )
    per_series = len(visible) // len(series)
    assert visible == [i // per_series == 1 for i in range(len(visible))]
    header = page.locator("#timeline-plot .updatemenu-header").text_content()
    assert header is not None and header.strip() == series[1].metric


@pytest.mark.browser
def test_report_renders_in_chromium(
    demo_result: AnalysisResult, chromium: Any, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report.write_text(
        render_html(
            demo_result, notes=_notes(), decisions=_decisions(demo_result.config_hash)
        ),
        encoding="utf-8",
    )
    blocked: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.route("**/*", guard)
        start = time.perf_counter()
        page.goto(report.as_uri(), wait_until="load")
        for plot in ("#forest-plot", "#timeline-plot"):
            page.wait_for_selector(f"{plot}.js-plotly-plot .main-svg", timeout=15_000)
        rendered = time.perf_counter() - start
        assert page.locator("#forest-plot .point").count() == len(
            [m for m in demo_result.metrics if math.isfinite(m.effect.relative)]
        )
        rows = page.eval_on_selector_all(
            "tr[data-metric]", "rows => rows.map(row => ({...row.dataset}))"
        )
        _assert_numbers_match(rows, demo_result)
        assert (
            page.locator("meta[name=abkit-config-hash]").get_attribute("content")
            == demo_result.config_hash
        )
        _pick_second_metric(page, demo_result)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "html_report.png"), full_page=True)
    finally:
        page.close()
    assert blocked == []  # no request left the file
    assert errors == []  # incl. CSP refusals, which stop a load before it is routed
    assert rendered < 15


def test_guardrails_have_their_own_block_with_margin_and_status(
    demo_result: AnalysisResult,
) -> None:
    page = render_html(demo_result)
    section = page.split('<section id="guardrails">')[1].split("</section>")[0]
    guard = demo_result.metric("report_rate").guardrail
    assert guard is not None and guard.status == "inconclusive"
    row = section.split('data-guardrail="report_rate"')[1].split("</tr>")[0]
    assert 'data-status="inconclusive"' in row
    assert "+10.0%" in row
    assert f"+11.8% [{guard.ci_lower:+.1%}, {guard.ci_upper:+.1%}]" in row
    assert "not yet shown safe" in row
    assert "<th>P(better)</th>" in page or ">P(better)</th>" in page
    bayes = demo_result.metric("matches_per_user").bayes
    assert bayes is not None
    assert f">{bayes.chance_to_win:.0%}<" in page
