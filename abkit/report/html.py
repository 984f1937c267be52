"""A self-contained HTML report: summary, scorecard, forest plot, effect over time.

One file that opens anywhere without a network: plotly.js is inlined once, the styles
are inline, and a Content-Security-Policy meta tag forbids the page to load anything.
Every piece of user text (titles, metric names and descriptions, notes, rationales)
goes through Jinja2's autoescaping. Machine-readable numbers sit in the DOM for tests
and scrapers: ``<meta name="abkit-…">`` tags and ``data-*`` attributes on each
scorecard row, holding the full-precision ``repr`` of the floats in the JSON report.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jinja2
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from abkit.analysis.monitoring import Look
from abkit.analysis.results import AnalysisResult, MetricResult
from abkit.report.terminal import (
    HEADERS,
    SEQUENTIAL_HEADERS,
    SEQUENTIAL_NAMES,
    _day,
    _json_safe,
    _row,
    format_lift,
    format_pvalue,
    metric_notes,
    sequential_rows,
)
from abkit.store.store import DecisionRecord, Note

VERDICT_COLORS = {
    "better": "#1a7f37",
    "worse": "#cf222e",
    "no_change": "#6e7781",
    "invalid": "#9a6700",
}
VERDICT_LABELS = {
    "better": "better",
    "worse": "worse",
    "no_change": "no change",
    "invalid": "n/a",
}
OUTCOME_LABELS = {
    "ship": "Ship",
    "do_not_ship": "Do not ship",
    "keep_running": "Keep running",
    "investigate": "Investigate data quality",
}
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_LIFT, _PVALUE, _VERDICT = (
    HEADERS.index(h) for h in ("lift [CI]", "p-value", "verdict")
)


class _Decision(Protocol):
    """The parts of `abkit.analysis.decision.DecisionResult` the report shows."""

    outcome: str
    summary: str
    reasons: tuple[str, ...]
    correction: str


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
    notes: Sequence[Note] = (),
    decisions: Sequence[DecisionRecord] = (),
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
    figures = {"forest-plot": forest_figure(result)}
    timeline = timeline_figure(result)
    if timeline is not None:
        figures["timeline-plot"] = timeline
    return _template().render(
        result=result,
        meta=_meta(result),
        window=f"{_day(result.window_start)} → {_day(result.window_end)}",
        created=_stamp(result.created_at),
        decision=_decision(result),
        failed=[c for c in result.health if c.status == "failed"],
        scorecards=_scorecards(result),
        metric_notes=metric_notes(result),
        sequential=_sequential(result),
        notes=sorted(notes, key=lambda note: note.id, reverse=True),
        decisions=sorted(decisions, key=lambda record: record.id, reverse=True),
        stamp=_stamp,
        figures=_json_safe(figures),
        headers=HEADERS,
        outcome_labels=OUTCOME_LABELS,
        csp=_CSP,
        css=Markup(_CSS),
        plotly_js=Markup(get_plotlyjs()),
    )


def forest_figure(result: AnalysisResult) -> dict[str, Any]:
    """Relative lifts with their CIs, one row per metric × treatment, by verdict."""
    rows = [m for m in result.metrics if math.isfinite(m.effect.relative)]
    labels = [_label(result, m.metric, m.variant) for m in rows]
    figure = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        chosen = [
            (label, m)
            for label, m in zip(labels, rows, strict=True)
            if m.verdict == verdict
        ]
        if chosen:
            figure.add_trace(_forest_trace(verdict, color, chosen))
    figure.add_vline(x=0, line={"color": "#444", "width": 1})
    level = f"{1 - result.alpha:.0%}"
    figure.update_layout(
        template="plotly_white",
        height=120 + 26 * max(len(rows), 1),
        margin={"l": 10, "r": 20, "t": 40, "b": 40},
        xaxis={
            "title": {"text": f"relative lift ({level} CI)"},
            "tickformat": "+.0%",
            "zeroline": False,
        },
        yaxis={
            "categoryorder": "array",
            "categoryarray": labels,
            "autorange": "reversed",
            "automargin": True,
        },
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    )
    return _spec(figure)


def _forest_trace(
    verdict: str, color: str, chosen: Sequence[tuple[str, MetricResult]]
) -> go.Scatter:
    effects = [m.effect for _, m in chosen]
    return go.Scatter(
        x=[e.relative for e in effects],
        y=[label for label, _ in chosen],
        mode="markers",
        name=VERDICT_LABELS[verdict],
        marker={"color": color, "size": 9},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [e.relative_ci_upper - e.relative for e in effects],
            "arrayminus": [e.relative - e.relative_ci_lower for e in effects],
            "color": color,
            "thickness": 2,
        },
        customdata=[
            [
                format_lift(e.relative, e.relative_ci_lower, e.relative_ci_upper),
                format_pvalue(e.pvalue),
            ]
            for e in effects
        ],
        hovertemplate="%{y}<br>lift %{customdata[0]}<br>p %{customdata[1]}<extra></extra>",
    )


def timeline_figure(result: AnalysisResult) -> dict[str, Any] | None:
    """Cumulative relative lift per morning with its CI bands; a dropdown picks the metric.

    Returns None when no metric has a daily look (open windows, too little data).
    """
    series = [s for s in result.series if s.looks]
    if not series:
        return None
    figure = go.Figure()
    owners: list[int] = []
    for index, one in enumerate(series):
        traces = _timeline_traces(one.looks, sequential=result.sequential is not None)
        for trace in traces:
            trace.visible = index == 0
            figure.add_trace(trace)
        owners += [index] * len(traces)
    buttons = [
        {
            "label": _label(result, one.metric, one.variant),
            "method": "update",
            "args": [
                {"visible": [owner == index for owner in owners]},
                {"shapes": _timeline_shapes(one.crossing_day)},
            ],
        }
        for index, one in enumerate(series)
    ]
    figure.update_layout(
        template="plotly_white",
        height=440,
        margin={"l": 10, "r": 20, "t": 70, "b": 40},
        updatemenus=[
            {
                "buttons": buttons,
                "active": 0,
                "x": 0,
                "xanchor": "left",
                "y": 1.12,
                "yanchor": "bottom",
                "direction": "down",
            }
        ],
        shapes=_timeline_shapes(series[0].crossing_day),
        yaxis={
            "title": {"text": "cumulative relative lift"},
            "tickformat": "+.0%",
            "zeroline": False,
            "automargin": True,
        },
        xaxis={"title": {"text": "analysis morning"}},
        legend={
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 1,
            "xanchor": "right",
        },
        hovermode="x unified",
    )
    return _spec(figure)


def _timeline_traces(looks: Sequence[Look], *, sequential: bool) -> list[go.Scatter]:
    days = [look.day.isoformat() for look in looks]
    band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    traces = [
        go.Scatter(
            x=days,
            y=[look.relative_ci_upper for look in looks],
            showlegend=False,
            legendgroup="fixed",
            **band,
        ),
        go.Scatter(
            x=days,
            y=[look.relative_ci_lower for look in looks],
            name="fixed-horizon CI",
            legendgroup="fixed",
            fill="tonexty",
            fillcolor="rgba(31, 119, 180, 0.18)",
            **band,
        ),
    ]
    if sequential:
        bounds = [look.sequential_relative for look in looks]
        for position, name in enumerate(("sequential CI", "sequential CI (lower)")):
            traces.append(
                go.Scatter(
                    x=days,
                    y=[b[position] for b in bounds],
                    mode="lines",
                    name=name,
                    legendgroup="sequential",
                    showlegend=position == 0,
                    line={"color": "#8250df", "dash": "dash", "width": 1.5},
                    hovertemplate="%{y:+.1%}",
                )
            )
    traces.append(
        go.Scatter(
            x=days,
            y=[look.relative for look in looks],
            mode="lines+markers",
            name="lift",
            line={"color": "#1f77b4", "width": 2},
            marker={"size": 5},
            customdata=[[look.n_control, look.n_treatment] for look in looks],
            hovertemplate="%{y:+.2%} (n %{customdata[0]:,} / %{customdata[1]:,})",
        )
    )
    return traces


def _timeline_shapes(crossing_day: dt.date | None) -> list[dict[str, Any]]:
    zero = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": 0,
        "y1": 0,
        "line": {"color": "#444", "width": 1},
    }
    if crossing_day is None:
        return [zero]
    crossing = {
        "type": "line",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "x0": crossing_day.isoformat(),
        "x1": crossing_day.isoformat(),
        "line": {"color": VERDICT_COLORS["better"], "dash": "dot", "width": 1.5},
    }
    return [zero, crossing]


def _spec(figure: go.Figure) -> dict[str, Any]:
    """Plain-JSON data, layout and config of a figure (plotly's own encoder)."""
    plain = json.loads(pio.to_json(figure, validate=False))
    return {"data": plain["data"], "layout": plain["layout"], "config": PLOT_CONFIG}


def _label(result: AnalysisResult, metric: str, variant: str) -> str:
    """Plot label of a metric; the variant too when there are several treatments."""
    text = metric if len(result.variants) <= 2 else f"{metric} · {variant}"
    return html.escape(text)  # plotly reads labels as (a little) HTML


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


def _decision(result: AnalysisResult) -> _Decision | None:
    decision: _Decision | None = getattr(result, "decision", None)
    return decision


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
    return _ScoreRow(_score_cells(metric, getattr(result, "correction", "none")), data)


def _score_cells(metric: MetricResult, correction: str) -> tuple[_Cell, ...]:
    """The Markdown report's cells, with CSS classes and a small detail line."""
    texts, verdict = _row(metric), metric.verdict
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
    spending = f", {settings.spending} spending" if settings.method == "gst" else ""
    title = (
        f"{SEQUENTIAL_NAMES[settings.method]}{spending}, planned "
        f"{settings.planned_units:,} units (safe to look daily)"
    )
    classes = ["metric", "", *["num"] * (len(SEQUENTIAL_HEADERS) - 2)]
    return {
        "title": title,
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
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.from_string(_TEMPLATE)


_CSS = """
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #57606a;
        --line: #d0d7de; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: #1f2328; margin: 0 auto; padding: 24px 32px 64px;
       max-width: 1440px; line-height: 1.45; }
h1 { margin: 0 0 4px; font-size: 1.7rem; }
h2 { margin: 36px 0 10px; font-size: 1.25rem; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
h3 { margin: 20px 0 8px; font-size: 1.05rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--bg-soft); padding: 1px 4px; border-radius: 4px; }
.meta, .muted, .caption { color: var(--muted); }
.caption { font-size: 0.85rem; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
th { background: var(--bg-soft); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.nowrap, td.when { white-space: nowrap; }
td.metric { font-weight: 600; }
.detail { display: block; font-weight: normal; font-size: 0.78rem; color: var(--muted);
          white-space: normal; }
.verdict-better { color: var(--ok); font-weight: 700; }
.verdict-worse { color: var(--bad); font-weight: 700; }
.verdict-no_change { color: var(--muted); }
.verdict-invalid { color: var(--warn); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.8rem;
         font-weight: 700; color: #fff; text-transform: uppercase; }
.status-ok { background: var(--ok); }
.status-warning { background: var(--warn); }
.status-failed { background: var(--bad); }
tr.check-failed td { background: #ffebe9; font-weight: 600; }
.alert { border: 3px solid var(--bad); background: #ffebe9; color: #82071e;
         padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.alert strong { font-size: 1.1rem; }
.summary { border-left: 6px solid var(--muted); background: var(--bg-soft);
           padding: 12px 16px; border-radius: 4px; }
.summary.outcome-ship { border-color: var(--ok); }
.summary.outcome-do_not_ship, .summary.outcome-investigate { border-color: var(--bad); }
.summary.outcome-keep_running { border-color: var(--warn); }
.summary .headline { font-size: 1.1rem; font-weight: 600; margin: 4px 0 8px; }
.plot { width: 100%; }
.note { border-bottom: 1px solid var(--line); padding: 8px 0; }
.note .text { white-space: pre-wrap; margin-top: 2px; }
.scroll { overflow-x: auto; }
"""

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="abkit {{ result.abkit_version }}">
{% for name, content in meta.items() %}
<meta name="{{ name }}" content="{{ content }}">
{% endfor %}
<title>{{ result.title }} · abkit report</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>{{ result.title }}</h1>
<p class="meta">experiment <code>{{ result.experiment }}</code> · data window {{ window }}
 · config <code>{{ result.config_hash }}</code> · abkit {{ result.abkit_version }}
 · generated {{ created }} · control <code>{{ result.control }}</code>, α = {{ result.alpha }}</p>
</header>
{% if failed %}
<div class="alert" role="alert"><strong>Health check failed — do not trust these
 metrics.</strong>
<ul>{% for check in failed %}<li>{{ check.name }}: {{ check.message }}</li>{% endfor %}</ul>
</div>
{% endif %}

<section id="summary">
<h2>Summary</h2>
{% if decision %}
<div class="summary outcome-{{ decision.outcome }}">
<span class="badge status-{{ 'ok' if decision.outcome == 'ship' else 'failed'
 if decision.outcome in ('do_not_ship', 'investigate') else 'warning' }}">{{
 outcome_labels.get(decision.outcome, decision.outcome) }}</span>
<p class="headline">{{ decision.summary }}</p>
{% if decision.reasons %}
<ul>{% for reason in decision.reasons %}<li>{{ reason }}</li>{% endfor %}</ul>
{% endif %}
<p class="caption">multiple-testing correction: {{ decision.correction }}</p>
</div>
{% else %}
<p class="summary">The primary decision isn't configured for this experiment, so the
 report makes no recommendation. Add a <code>decision:</code> block (primary metric,
 guardrails, correction) to the experiment file to get one.</p>
{% endif %}
</section>

<section id="scorecard">
<h2>Scorecard</h2>
{% for heading, rows in scorecards %}
<h3>{{ heading }}</h3>
<div class="scroll"><table class="scorecard">
<thead><tr>{% for header in headers %}<th class="{{ 'num' if not loop.first }}">{{ header }}</th>
{%- endfor %}</tr></thead>
<tbody>
{% for row in rows %}
<tr{{ row.data|xmlattr }}>{% for cell in row.cells %}<td class="{{ cell.css }}">
{%- for part in cell.parts %}{{ ' ' if not loop.first }}<span class="nowrap">{{ part }}</span>
{%- endfor %}
{%- if cell.detail %}<span class="detail">{{ cell.detail }}</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></div>
{% endfor %}
<p class="caption">lift: CUPED-adjusted where a pre-period exists (relative to the adjusted
 control mean); CUPED variance: the share of variance removed. For metrics in the decision's
 correction family the verdict uses the corrected p-value (raw and corrected under the cell).</p>
{% if metric_notes %}
<ul class="caption">{% for note in metric_notes %}<li>{{ note }}</li>{% endfor %}</ul>
{% endif %}
</section>

<section id="forest">
<h2>Relative lifts</h2>
<div id="forest-plot" class="plot"></div>
<p class="caption">One row per metric × treatment; whiskers are the uncorrected
 confidence intervals, colours the verdicts.</p>
</section>

{% if 'timeline-plot' in figures %}
<section id="timeline">
<h2>Cumulative effect over time</h2>
<div id="timeline-plot" class="plot"></div>
<p class="caption">Each morning's analysis of the units whose metric window was complete;
 pick the metric in the menu.{% if result.sequential %} The dashed band is the sequential
 interval, valid however often you look; the dotted line marks a boundary crossing.{% endif %}</p>
</section>
{% endif %}

{% if sequential %}
<section id="sequential">
<h2>Sequential monitoring</h2>
<p class="caption">{{ sequential.title }}</p>
<div class="scroll"><table>
<thead><tr>{% for header in sequential.headers %}
<th class="{{ sequential.classes[loop.index0] }}">{{ header }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in sequential.rows %}
<tr>{% for cell in row %}<td class="{{ sequential.classes[loop.index0] }}
{%- if loop.last and cell.startswith('crossed') %} verdict-better{% endif %}">{{ cell }}</td>
{%- endfor %}</tr>
{% endfor %}
</tbody></table></div>
</section>
{% endif %}

<section id="health">
<h2>Health</h2>
<p>units: {% for variant, n in result.units.items() %}{{ variant }} {{ '{:,}'.format(n) }}
{%- if not loop.last %}, {% endif %}{% endfor %};
 excluded {{ '{:,}'.format(result.excluded_units) }}</p>
<table>
<thead><tr><th>status</th><th>check</th><th>message</th></tr></thead>
<tbody>
{% for check in result.health %}
<tr class="check-{{ check.status }}" data-check="{{ check.name }}" data-status="{{ check.status }}">
<td><span class="badge status-{{ check.status }}">{{ check.status }}</span></td>
<td>{{ check.name }}</td><td>{{ check.message }}</td></tr>
{% endfor %}
</tbody></table>
</section>

<section id="notes">
<h2>Notes</h2>
{% for note in notes %}
<div class="note" data-note-id="{{ note.id }}"><span class="muted">{{ stamp(note.created_at) }}
 · </span><strong>{{ note.author }}</strong>{% if note.metric %}<span class="muted"> on
 <code>{{ note.metric }}</code></span>{% endif %}
<div class="text">{{ note.text }}</div></div>
{% else %}
<p class="muted">No notes yet.</p>
{% endfor %}
</section>

<section id="decisions">
<h2>Decision log</h2>
{% if decisions %}
<table>
<thead><tr><th>when</th><th>who</th><th>decision</th><th>rationale</th><th>config</th></tr></thead>
<tbody>
{% for record in decisions %}
<tr data-decision-id="{{ record.id }}"><td class="when">{{ stamp(record.created_at) }}</td>
<td>{{ record.author }}</td><td><strong>{{ record.decision }}</strong></td>
<td>{{ record.rationale }}</td><td><code>{{ record.config_hash or '–' }}</code>
{%- if record.config_hash and record.config_hash != result.config_hash %}
<span class="detail">another config than this report's</span>{% endif %}</td></tr>
{% endfor %}
</tbody></table>
{% else %}
<p class="muted">No decision recorded yet.</p>
{% endif %}
</section>

<script id="plotly-js">{{ plotly_js }}</script>
<script type="application/json" id="abkit-figures">{{ figures|tojson }}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("abkit-figures").textContent);
  Object.keys(specs).forEach(function (id) {
    var spec = specs[id];
    Plotly.newPlot(id, spec.data, spec.layout, spec.config);
  });
})();
</script>
</body>
</html>
"""
