"""`report -f markdown`: tables keep their columns, user text renders as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

import abkit
from abkit.analysis.results import AnalysisResult
from abkit.report.terminal import render_report

HOSTILE = "x | y ![p](http://evil.example/pixel.png) <script>alert(1)</script>"
LINK = "[click](javascript:alert(1)) <iframe src=http://evil.example></iframe>"
WHEN = dt.datetime(2026, 10, 26, 9, 30)


@dataclasses.dataclass(frozen=True)
class Note:
    id: int
    author: str
    text: str
    metric: str | None
    created_at: dt.datetime = WHEN

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Decision:
    id: int
    decision: str
    rationale: str
    author: str
    created_at: dt.datetime = WHEN
    config_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@pytest.fixture(scope="module")
def hostile(demo_exp: Path) -> AnalysisResult:
    """The demo's analysis with a title and a metric name that attack Markdown."""
    result = abkit.analyze(demo_exp)
    renamed = dataclasses.replace(result.metrics[0], metric="a|b<script>")
    return dataclasses.replace(
        result, title=HOSTILE, metrics=(renamed, *result.metrics[1:])
    )


@pytest.fixture(scope="module")
def markdown(hostile: AnalysisResult) -> str:
    notes = [Note(1, "eve <b>", HOSTILE, "a|b"), Note(2, "mallory", LINK, None)]
    decisions = [Decision(1, "extend", LINK, "eve | ops")]
    return render_report(hostile, "markdown", notes, decisions)


def tables(text: str) -> list[list[int]]:
    """Cells per row (header included) of every table markdown-it finds."""
    found: list[list[int]] = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            found[-1].append(0)
        elif token.type in ("th_open", "td_open"):
            found[-1][-1] += 1
    return found


def test_every_table_keeps_a_constant_number_of_columns(markdown: str):
    found = tables(markdown)
    assert len(found) == 3  # guardrails, the scorecard, sequential monitoring
    widths = [set(rows) for rows in found]
    assert widths == [{5}, {10}, {7}], widths
    assert [len(rows) for rows in found] == [4, 16, 16]  # header + rows


def test_user_text_is_rendered_as_text(markdown: str):
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    children = [c for t in tokens for c in (t.children or [])]
    kinds = {t.type for t in tokens} | {c.type for c in children}
    assert not kinds & {"html_inline", "html_block", "image", "link_open"}, kinds
    for raw in ("<script", "<iframe", "<b>", "javascript:"):
        assert raw not in markdown
    assert not re.search(r"(?<!\\)\]\(", markdown)  # no unescaped link target
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "![p](http://evil.example/pixel.png)" in rendered  # shown, not fetched


def test_the_markdown_report_has_the_discussion_guardrails_and_chance_to_win(
    markdown: str, hostile: AnalysisResult
):
    assert "### Decisions" in markdown and "### Notes" in markdown
    assert "eve \\| ops" in markdown
    assert "### Guardrails" in markdown and "not yet shown safe" in markdown
    view = hostile.metric("matches_per_user").bayes
    assert view is not None
    assert f"| {view.chance_to_win:.0%} |" in markdown
