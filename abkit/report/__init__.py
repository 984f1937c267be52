"""Stage 7, presentation: terminal (rich), Markdown, JSON and HTML renderings of results.

- `formatting`: numbers as text and the plain-text rows every rendering shares.
- `tables`: the rich terminal tables; `terminal`: printing, plain text, the CLI's
  `--format` switch and the shareable report's.
- `markdown`, `json_output`: the Markdown and JSON renderings.
- `html` (with its page in `html_template`): the self-contained HTML report.
- `charts`, `timeline_charts`: plotly figures shared by the HTML report and the app.
- `records`: what the reports read of the results store's notes, decisions, snapshots.

`html` and the charts load plotly, so they are imported only where an HTML report or
a chart is asked for; importing this package does not load plotly. The renderers
named here load on first use, so `abkit.report.formatting` (the app's experiments
list) does not pull in the statistics either.
"""

from __future__ import annotations

import importlib
from typing import Any

from abkit.analysis.text import format_difference as format_difference
from abkit.analysis.text import format_lift as format_lift
from abkit.analysis.text import format_pvalue as format_pvalue
from abkit.analysis.text import format_value as format_value

_RENDERERS = {
    "render_json": "abkit.report.json_output",
    "render_markdown": "abkit.report.markdown",
    "render": "abkit.report.terminal",
    "render_plan": "abkit.report.terminal",
    "render_report": "abkit.report.terminal",
    "render_text": "abkit.report.terminal",
}
__all__ = [
    "format_difference",
    "format_lift",
    "format_pvalue",
    "format_value",
    "render",
    "render_json",
    "render_markdown",
    "render_plan",
    "render_report",
    "render_text",
]


def __getattr__(name: str) -> Any:
    """The renderers, imported on first use (PEP 562)."""
    if name not in _RENDERERS:
        raise AttributeError(f"module 'abkit.report' has no attribute {name!r}")
    return getattr(importlib.import_module(_RENDERERS[name]), name)
