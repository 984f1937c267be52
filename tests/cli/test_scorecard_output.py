"""The terminal scorecard on the demo: guardrails first, 80 columns, one verdict."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import abkit
from abkit.analysis.results import AnalysisResult
from abkit.analysis.text import (
    format_difference,
    format_interval,
    format_pvalue,
    format_share_removed,
    format_value,
)
from abkit.report.formatting import design_verdict, guardrail_rows, scorecard_row
from abkit.report.terminal import print_result

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(demo_exp: Path) -> AnalysisResult:
    return abkit.analyze(demo_exp)


def printed(result: AnalysisResult, width: int, *, verbose: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False)
    print_result(result, console, verbose=verbose)
    return buffer.getvalue()


def test_an_inconclusive_guardrail_is_not_yet_shown_safe(demo: AnalysisResult):
    report_rate = demo.metric("report_rate")
    assert report_rate.guardrail is not None
    assert report_rate.guardrail.status == "inconclusive"
    assert demo.decision is not None
    assert "guardrails not yet shown safe: report_rate, revenue_per_user" in (
        demo.decision.summary
    )
    assert "no guardrail harmed" not in demo.decision.summary


def test_guardrail_rows_show_margin_estimate_and_ci_in_percent(demo: AnalysisResult):
    rows = {row[0]: row for row in guardrail_rows(demo)}
    guard = demo.metric("report_rate").guardrail
    assert guard is not None
    assert rows["report_rate"][2:] == [
        "+10.0%",  # a lower-is-better metric may not rise by more than 10%
        f"+11.8% [{guard.ci_lower:+.1%}, {guard.ci_upper:+.1%}]",
        "not yet shown safe",
    ]
    assert rows["sessions_per_user"][2] == "-2.0%"
    assert rows["sessions_per_user"][4] == "shown safe"


def test_the_terminal_scorecard_at_80_columns_shows_every_pvalue_in_full(
    demo: AnalysisResult,
):
    text = printed(demo, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    scorecard = text.split("treatment vs control (95% CI)")[1]
    for metric in demo.metrics:
        pvalue = metric.adjusted_pvalue or metric.effect.pvalue
        marked = format_pvalue(pvalue) + ("*" if metric.adjusted_pvalue else "")
        line = next(
            ln for ln in scorecard.splitlines() if ln.startswith(f"  {metric.metric} ")
        )
        assert marked in line, line
        assert "…" not in line
    assert "margin" in text and "+10.0%" in text
    assert len(text.splitlines()) < 60  # was 91 lines at 120 columns


def test_verbose_adds_the_secondary_views(demo: AnalysisResult):
    short, full = printed(demo, 120), printed(demo, 120, verbose=True)
    for block in (
        "sequential monitoring",
        "Bayesian view (",
        "P(better) ",
        "pre_period",
    ):
        assert block not in short
        assert block in full


def test_the_cli_follows_columns_and_verbose(demo_exp: Path):
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "abkit.frontends.cli", "analyze", str(demo_exp)]
    short = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert short.returncode == 0, short.stderr
    assert max(len(line) for line in short.stdout.splitlines()) <= 80
    assert "sequential monitoring" not in short.stdout


def test_one_verdict_per_metric_from_the_sequential_design(demo: AnalysisResult):
    metric = demo.metric("matches_per_user")
    assert metric.verdict == "better"  # the fixed-horizon test alone
    series = demo.series_for("matches_per_user")
    assert series is not None and not series.crossed
    assert design_verdict(demo, metric) == "not_yet"
    row = scorecard_row(metric, design_verdict(demo, metric))
    assert "· keep running" in row
    line = next(
        ln
        for ln in printed(demo, 80).splitlines()
        if ln.startswith("  matches_per_user")
    )
    assert "keep running" in line and "better" not in line


def test_numbers_keep_the_digits_their_interval_supports():
    assert format_interval(0.05437, -0.007925, 0.1167, "number") == (
        "+0.054 [-0.008, +0.117]"
    )
    assert format_interval(-0.005, -0.03, 0.02, "currency") == (
        "-$0.005 [-$0.030, +$0.020]"
    )
    assert format_difference(-0.005, "currency") == "-$0.01"
    assert format_value(13.013, "currency") == "$13.01"
    assert format_value(0.002825, "percent") == "0.28%"
    assert format_share_removed(0.001) == "<1%"
    assert format_share_removed(0.32) == "−32%"
