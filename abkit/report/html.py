"""A self-contained HTML report: summary, scorecard, forest plot, effect over time.

One file that opens anywhere without a network: plotly.js is inlined once, the styles
are inline, and a Content-Security-Policy meta tag forbids the page to load anything.
Every piece of user text (titles, metric names and descriptions, notes, rationales)
goes through Jinja2's autoescaping. Machine-readable numbers sit in the DOM for tests
and scrapers: ``<meta name="abkit-…">`` tags and ``data-*`` attributes on each
scorecard row, holding the full-precision ``repr`` of the floats in the JSON report.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from abkit.analysis.results import AnalysisResult, MetricResult
from abkit.analysis.text import format_pvalue
from abkit.jsonable import to_jsonable
from abkit.report.charts import figure_spec, report_forest_figure
from abkit.report.formatting import (
    GUARDRAIL_CAPTION,
    GUARDRAIL_HEADERS,
    HEADERS,
    SEQUENTIAL_HEADERS,
    data_window,
    design_verdict,
    guardrail_rows,
    metric_notes,
    scorecard_row,
    sequential_design,
    sequential_rows,
)
from abkit.report.html_template import CSP, CSS, TEMPLATE
from abkit.report.records import DecisionLogRecord, NoteRecord
from abkit.report.timeline_charts import timeline_figure

OUTCOME_LABELS = {
    "ship": "Ship",
    "do_not_ship": "Do not ship",
    "keep_running": "Keep running",
    "investigate": "Investigate data quality",
}
_LIFT, _PVALUE, _VERDICT = (
    HEADERS.index(h) for h in ("lift [CI]", "p-value", "verdict")
)


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    css: str = ""
    detail: str = ""

    @property
    def parts(self) -> list[str]:
        """The estimate and its '[lower, upper]' interval, kept whole when wrapping."""
        head, bracket, tail = self.text.partition(" [")
        return [head, f"[{tail}"] if bracket else [head]


@dataclass(frozen=True, slots=True)
class _ScoreRow:
    cells: tuple[_Cell, ...]
    data: dict[str, str | None]


def render_html(
    result: AnalysisResult,
    *,
    notes: Sequence[NoteRecord] = (),
    decisions: Sequence[DecisionLogRecord] = (),
) -> str:
    """The analysis as one self-contained HTML page (no network access needed).

    Args:
        result: the analysis to show.
        notes: discussion notes on the experiment; shown newest first (highest id
            first, the store's order, which a reset clock cannot scramble).
        decisions: the decision log, shown newest first likewise.

    Returns:
        The HTML document, plotly.js included, as text.
    """
    return _template().render(
        result=result,
        meta=_meta(result),
        window=data_window(result),
        created=_stamp(result.created_at),
        decision=result.decision,
        failed=[c for c in result.health if c.status == "failed"],
        scorecards=_scorecards(result),
        guardrails=_guardrails(result),
        guardrail_headers=GUARDRAIL_HEADERS,
        guardrail_caption=GUARDRAIL_CAPTION,
        metric_notes=metric_notes(result),
        sequential=_sequential(result),
        notes=sorted(notes, key=lambda note: note.id, reverse=True),
        decisions=sorted(decisions, key=lambda record: record.id, reverse=True),
        stamp=_stamp,
        figures=to_jsonable(_figures(result), where="figures"),
        headers=HEADERS,
        outcome_labels=OUTCOME_LABELS,
        csp=CSP,
        css=Markup(CSS),
        plotly_js=packed_plotly(),
    )


def _figures(result: AnalysisResult) -> dict[str, dict[str, Any]]:
    """The plot specs by the id of the element each is drawn in."""
    figures = {"forest-plot": figure_spec(report_forest_figure(result))}
    timeline = timeline_figure(result)
    if timeline is not None:
        figures["timeline-plot"] = figure_spec(timeline)
    return figures


def _meta(result: AnalysisResult) -> dict[str, str]:
    start, end = (
        v.isoformat() if v else "" for v in (result.window_start, result.window_end)
    )
    return {
        "abkit-experiment": result.experiment,
        "abkit-config-hash": result.config_hash,
        "abkit-version": result.abkit_version,
        "abkit-window": f"{start}/{end}",
        "abkit-created-at": result.created_at.isoformat(),
    }


def _scorecards(result: AnalysisResult) -> list[tuple[str, list[_ScoreRow]]]:
    """Per treatment: its heading and its scorecard rows."""
    level = f"{1 - result.alpha:.0%}"
    return [
        (
            f"{variant} vs {result.control} ({level} CI)",
            [_score_row(m, result) for m in result.metrics if m.variant == variant],
        )
        for variant in result.variants
        if variant != result.control
    ]


def _guardrails(result: AnalysisResult) -> list[tuple[list[str], str]]:
    """The guardrail rows with their status key (for the colour)."""
    statuses = [m.guardrail.status for m in result.metrics if m.guardrail is not None]
    return list(zip(guardrail_rows(result), statuses, strict=True))


def _score_row(metric: MetricResult, result: AnalysisResult) -> _ScoreRow:
    effect = metric.effect
    data = {
        "data-metric": metric.metric,
        "data-variant": metric.variant,
        "data-verdict": metric.verdict,
        "data-difference": repr(effect.difference),
        "data-relative": repr(effect.relative),
        "data-relative-ci-lower": repr(effect.relative_ci_lower),
        "data-relative-ci-upper": repr(effect.relative_ci_upper),
        "data-pvalue": repr(effect.pvalue),
        "data-adjusted-pvalue": None
        if metric.adjusted_pvalue is None
        else repr(metric.adjusted_pvalue),
    }
    verdict = design_verdict(result, metric)
    data["data-design-verdict"] = verdict
    return _ScoreRow(_score_cells(metric, result.correction, verdict), data)


def _score_cells(
    metric: MetricResult, correction: str, verdict: str
) -> tuple[_Cell, ...]:
    """The Markdown report's cells, with CSS classes and a small detail line."""
    texts = scorecard_row(metric, verdict)
    cells = [_Cell(text, "num") for text in texts]
    cells[0] = _Cell(texts[0], "metric", metric.description)
    if verdict in ("better", "worse"):
        cells[_LIFT] = _Cell(texts[_LIFT], f"num verdict-{verdict}")
    if metric.adjusted_pvalue is not None:
        raw, adjusted = (
            format_pvalue(p) for p in (metric.effect.pvalue, metric.adjusted_pvalue)
        )
        cells[_PVALUE] = _Cell(
            texts[_PVALUE], "num", f"raw {raw} · {correction} {adjusted}"
        )
    guard = metric.guardrail
    detail = f"guardrail: {guard.status.replace('_', ' ')}" if guard is not None else ""
    cells[_VERDICT] = _Cell(texts[_VERDICT], f"num verdict-{verdict}", detail)
    return tuple(cells)


def _sequential(result: AnalysisResult) -> dict[str, Any] | None:
    settings, rows = result.sequential, sequential_rows(result)
    if settings is None or not rows:
        return None
    classes = ["metric", "", *["num"] * (len(SEQUENTIAL_HEADERS) - 2)]
    return {
        "title": sequential_design(settings),
        "headers": SEQUENTIAL_HEADERS,
        "rows": rows,
        "classes": classes,
    }


def _stamp(moment: dt.datetime) -> str:
    """A moment to the minute, in UTC when the time zone is known."""
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@functools.cache
def packed_plotly() -> str:
    """plotly.js, gzipped and base64-encoded: about 2 MB per report, not 4.8 MB.

    The page unpacks it offline with the browser's DecompressionStream.
    """
    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.from_string(TEMPLATE)
