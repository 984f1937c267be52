"""The app served by `streamlit run`, driven in Debian's headless Chromium."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import abkit
from abkit.analysis.results import AnalysisResult
from abkit.analysis.text import format_lift
from abkit.frontends.app_support import STORE_FILENAME, primary_metric
from abkit.store.store import ResultStore
from tests.app.conftest import APP_FILE, EXPERIMENT, REPO

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-output" / "app"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START: list[float] = []
"""Seconds from `streamlit run` to a healthy server (the load-time report shows it)."""
WAIT_MS = 90_000  # the first scorecard runs the demo analysis in the server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


def settle(page: Any, expect: Any) -> None:
    """Wait until the script run is over and every data frame and chart is drawn."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    page.wait_for_timeout(500)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no healthy streamlit at {url} after {timeout} s")


@pytest.fixture(scope="module")
def server(app_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app/streamlit_app.py -- --dir <copy of the demo>` on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.headless", "true", "--server.address", "127.0.0.1",
        "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--", "--dir", str(app_dir),
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            wait_healthy(url, process, timeout=60)
            SERVER_START.append(time.perf_counter() - started)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


PAGE_MARKERS = (
    ("", "Open a scorecard"),  # the experiments list is the default page
    ("scorecard", "Guardrails"),
    ("over_time", "Sequential monitoring, all metrics"),
    ("segments", "Sample ratio by"),
    ("plan", "Per metric"),
    ("discussion", "Decision log"),
    ("share", "Download Markdown report"),
)
FOREST_EXTENTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .filter(el => el._fullLayout && el._fullLayout.xaxis)
  .map(el => ({
    range: el._fullLayout.xaxis.range,
    traces: el._fullData.filter(t => t.error_x && t.error_x.array).map(t => ({
      x: Array.from(t.x), plus: Array.from(t.error_x.array),
      minus: Array.from(t.error_x.arrayminus || t.error_x.array)}))}))"""


def forest_outside(extents: list[dict[str, Any]]) -> list[tuple[float, list[float]]]:
    """Every point or whisker end of the forest plots that lies outside its axis."""
    outside = []
    for plot in extents:
        low, high = plot["range"]
        for trace in plot["traces"]:
            for x, plus, minus in zip(
                trace["x"], trace["plus"], trace["minus"], strict=True
            ):
                if not low <= x - minus <= x + plus <= high:
                    outside.append((x, plot["range"]))
    return outside


def timed_goto(page: Any, expect: Any, url: str, marker: str) -> float:
    """Seconds from navigation until `marker` shows and the run has settled."""
    started = time.perf_counter()
    page.goto(url)
    expect(page.get_by_test_id("stMain").get_by_text(marker).first).to_be_visible()
    settle(page, expect)
    return time.perf_counter() - started


def test_every_page_at_1440x900_with_load_times(server: str, expected: AnalysisResult):
    """Screenshots of every page, the forest axes, not-found links, load times."""
    import json

    from playwright import sync_api

    SHOTS.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(WAIT_MS)
            expect = sync_api.expect
            expect.set_options(timeout=WAIT_MS)
            for name, marker in PAGE_MARKERS:
                url = f"{server}/{name}?exp={EXPERIMENT}"
                label = name or "experiments"
                times[f"{label} (first)"] = timed_goto(page, expect, url, marker)
                times[f"{label} (again)"] = timed_goto(page, expect, url, marker)
                page.screenshot(path=SHOTS / f"page-{name or 'experiments'}.png")
                if name in ("scorecard", "segments"):
                    outside = forest_outside(page.evaluate(FOREST_EXTENTS))
                    assert not outside, (name, outside)
                if name == "scorecard":
                    block = page.locator(".st-key-guardrail_block")
                    expect(block).to_contain_text("+10.0%")  # report_rate's margin
                    expect(block).to_contain_text("not yet shown safe")
                    guard = expected.metric("report_rate").guardrail
                    assert guard is not None
                    expect(block).to_contain_text(
                        f"+11.8% [{guard.ci_lower:+.1%}, {guard.ci_upper:+.1%}]"
                    )
            page.goto(f"{server}/scorecard?exp=no_such_experiment")
            main = page.get_by_test_id("stMain")
            expect(main.get_by_text("was not found")).to_be_visible()
            settle(page, expect)
            assert "exp=no_such_experiment" in page.url
            expect(main.get_by_text(expected.title)).to_have_count(0)
            page.screenshot(path=SHOTS / "page-not-found.png")
        finally:
            browser.close()
    times["server start"] = SERVER_START[-1]
    (SHOTS / "load-times.json").write_text(json.dumps(times, indent=2) + "\n")
    print("page load times (s):", json.dumps(times, indent=2))
    assert times["experiments (first)"] < 30, (
        times
    )  # the experiments list does not analyse


def test_scorecard_and_discussion_in_a_browser(
    server: str, app_dir: Path, expected: AnalysisResult
):
    from playwright import sync_api  # a test dependency: missing is a failure

    path = app_dir / "examples" / "exp.yaml"
    primary = expected.metric(primary_metric(abkit.load_experiment(path)))
    lift = format_lift(
        primary.effect.relative,
        primary.effect.relative_ci_lower,
        primary.effect.relative_ci_upper,
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    note = f"Browser note {time.time_ns()}"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2000})
            page.set_default_timeout(WAIT_MS)
            expect = sync_api.expect
            expect.set_options(timeout=WAIT_MS)

            page.goto(f"{server}/scorecard?exp={EXPERIMENT}")
            main = page.get_by_test_id("stMain")
            assert expected.decision is not None
            expect(main.get_by_text(expected.decision.summary)).to_be_visible()
            metric = page.get_by_test_id("stMetricValue").first
            expect(metric).to_have_text(lift)
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
            settle(page, expect)
            page.screenshot(path=SHOTS / "scorecard.png")
            assert f"exp={EXPERIMENT}" in page.url
            # moving with the sidebar keeps the experiment in the URL (shareable)
            page.get_by_test_id("stSidebarNav").get_by_text("Over time").click()
            expect(page).to_have_url(re.compile(rf"/over_time\?exp={EXPERIMENT}$"))

            for name, marker in (
                ("", "Open a scorecard"),
                ("over_time", "Sequential monitoring, all metrics"),
                ("segments", "Sample ratio by"),
                ("plan", "Per metric"),
                ("share", "Download Markdown report"),
            ):
                page.goto(f"{server}/{name}?exp={EXPERIMENT}")
                expect(main.get_by_text(marker).first).to_be_visible()
                settle(page, expect)
                page.screenshot(path=SHOTS / f"{name or 'experiments'}.png")

            page.goto(f"{server}/discussion?exp={EXPERIMENT}")
            form = page.get_by_test_id("stForm").first
            form.get_by_label("Your name").fill("pm-ana")
            form.get_by_label("Note").fill(note)
            form.get_by_role("button", name="Add note").click()
            expect(main.get_by_text(note)).to_be_visible()
            page.reload()
            expect(main.get_by_text(note)).to_be_visible()
            expect(main.get_by_text("pm-ana").first).to_be_visible()
            settle(page, expect)
            page.screenshot(path=SHOTS / "discussion.png")
        finally:
            browser.close()

    with ResultStore(app_dir / STORE_FILENAME) as store:
        stored = store.notes(EXPERIMENT)
    assert (stored[0].text, stored[0].author) == (note, "pm-ana")
