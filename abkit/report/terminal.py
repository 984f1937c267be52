"""The command line's renderings: the rich scorecard, plain text, and the format switch.

`render` picks the CLI's `--format` (table, JSON or Markdown), `render_report` the
shareable report's (HTML, Markdown or JSON, with the discussion). The tables are in
`abkit.report.tables`, the number formats in `abkit.report.formatting`; the names the
command line and the result objects use are importable from here too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

from rich.console import Console

from abkit.analysis.planning import PlanResult
from abkit.analysis.results import AnalysisResult
from abkit.jsonable import to_jsonable as _json_safe
from abkit.report.json_output import render_json, report_json
from abkit.report.markdown import discussion_markdown, render_markdown
from abkit.report.records import DecisionLogRecord, NoteRecord
from abkit.report.tables import (
    history_table,
    plan_table,
    renderables,
    segment_renderables,
)

# the command line's and the result objects' imports (`_json_safe`: `abkit plan --format json`)
__all__ = [
    "OutputFormat",
    "_json_safe",
    "history_table",
    "plain_text",
    "plan_table",
    "print_result",
    "render",
    "render_json",
    "render_markdown",
    "render_plan",
    "render_report",
    "render_text",
]

OutputFormat = Literal["table", "json", "markdown"]


def print_result(
    result: AnalysisResult,
    console: Console | None = None,
    *,
    segments: bool = False,
    verbose: bool = False,
) -> None:
    """Print the rich scorecard (and segment tables if asked) to a console."""
    console = console or Console()
    items = renderables(result, verbose=verbose)
    for item in items + (segment_renderables(result) if segments else []):
        console.print(item)


def plain_text(items: Sequence[Any], width: int = 140) -> str:
    """Rich renderables as uncoloured text (for `str()`, logs and files)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False)
    for item in items:
        console.print(item)
    return buffer.getvalue()


def render_text(
    result: AnalysisResult, width: int = 140, *, verbose: bool = False
) -> str:
    """The scorecard as plain text (for `str(result)` and logs)."""
    return plain_text(renderables(result, verbose=verbose), width)


def render_plan(plan: PlanResult, width: int = 140) -> str:
    """The planning table as plain text."""
    return plain_text([plan_table(plan)], width)


def render(result: AnalysisResult, output_format: OutputFormat) -> str:
    """Render in one of the CLI's formats."""
    if output_format == "json":
        return render_json(result)
    if output_format == "markdown":
        return render_markdown(result)
    return render_text(result)


def render_report(
    result: AnalysisResult,
    output_format: str,
    notes: Sequence[NoteRecord] = (),
    decisions: Sequence[DecisionLogRecord] = (),
) -> str:
    """A shareable report with the discussion: html, markdown or json."""
    if output_format == "html":
        from abkit.report.html import render_html

        return render_html(result, notes=notes, decisions=decisions)
    if output_format == "markdown":
        return render_markdown(result) + "\n" + discussion_markdown(notes, decisions)
    return report_json(result, notes, decisions)
