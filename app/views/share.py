"""Share: download the report (HTML or Markdown) and copy a link to this view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import app_context
import streamlit as st

from abkit.report.markdown import render_markdown

context = app_context.current()
experiment = app_context.require_experiment(context)
result = app_context.analysis(context, experiment)
store = app_context.open_store(context, create=False)
notes = store.notes(experiment.name) if store is not None else []
decisions = store.decisions(experiment.name) if store is not None else []

st.title("Share")

st.subheader("Link")
st.caption(
    "Opens this experiment's scorecard with the same CUPED and correction settings."
)
st.code(context.link("scorecard"), language=None)


def _html_renderer() -> Callable[..., str] | None:
    """`abkit.report.html.render_html`, or None in an abkit without HTML reports."""
    try:
        from abkit.report import html as html_report
    except ImportError:
        return None
    renderer: Any = getattr(html_report, "render_html", None)
    return renderer if callable(renderer) else None


st.subheader("Report")
stem = f"{experiment.name}-{result.config_hash}"
markdown = render_markdown(result)
left, right = st.columns(2)
renderer = _html_renderer()
if renderer is not None:
    page = renderer(result, notes=notes, decisions=decisions)
    left.download_button(
        "Download HTML report",
        page,
        file_name=f"{stem}.html",
        mime="text/html",
        key="share_html",
        type="primary",
        icon=":material/download:",
    )
else:
    left.caption("HTML reports need a newer abkit; the Markdown report is below.")
right.download_button(
    "Download Markdown report",
    markdown,
    file_name=f"{stem}.md",
    mime="text/markdown",
    key="share_markdown",
    icon=":material/download:",
)
with st.expander("Preview the Markdown report", expanded=True):
    st.markdown(markdown.replace("$", "\\$"))  # escaped as text; `$` is LaTeX here
