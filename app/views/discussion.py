"""Discussion: notes and the decision log from the results store, newest first."""

from __future__ import annotations

import re
from typing import cast

import app_context
import components
import streamlit as st

from abkit.errors import AbkitError
from abkit.store.store import DECISIONS, Decision, DecisionRecord, Note, ResultStore

AUTHOR_KEY = "author_name"
NO_METRIC = "(whole experiment)"
DECISION_HELP = {
    "ship": "roll the treatment out",
    "iterate": "change it and test again",
    "stop": "keep control",
    "extend": "keep the test running",
}

context = app_context.current()
experiment = app_context.require_experiment(context)
name = experiment.name

st.title("Discussion")
st.caption(f"Notes and decisions on `{name}`, stored in `{context.store_path}`")
store = app_context.open_store(context)
if store is None:
    st.stop()


def _markdown_text(text: str) -> str:
    """User text shown inside Markdown, with Markdown's special characters escaped."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$])", r"\\\1", text)


def _author(form: str) -> str:
    """The author field; the name last saved in either form fills an empty one."""
    key = f"{form}_author"
    remembered = str(st.session_state.get(AUTHOR_KEY, ""))
    if remembered and not st.session_state.get(key):
        st.session_state[key] = remembered  # before the widget exists in this run
    return st.text_input("Your name", key=key, placeholder="e.g. ana").strip()


def _saved(author: str, action: str) -> None:
    st.session_state[AUTHOR_KEY] = author
    st.toast(f"{action} saved", icon=":material/check:")


def _note_form(store: ResultStore) -> None:
    with st.form("note_form", clear_on_submit=True):
        st.markdown("**Add a note**")
        author = _author("note")
        metric = st.selectbox(
            "About", [NO_METRIC, *experiment.metric_names], key="note_metric"
        )
        text = st.text_area("Note", key="note_text", placeholder="What did you see?")
        if not st.form_submit_button("Add note", type="primary", key="note_submit"):
            return
    if not author or not text.strip():
        st.error("A note needs your name and some text.")
        return
    try:
        store.add_note(
            name,
            text.strip(),
            author=author,
            metric=None if metric == NO_METRIC else metric,
        )
    except AbkitError as error:
        st.error(str(error))
        return
    _saved(author, "Note")


def _decision_form(store: ResultStore) -> None:
    with st.form("decision_form", clear_on_submit=True):
        st.markdown("**Record a decision**")
        author = _author("decision")
        decision = st.selectbox(
            "Decision",
            DECISIONS,
            key="decision_choice",
            format_func=lambda d: f"{d} — {DECISION_HELP.get(d, '')}",
        )
        rationale = st.text_area("Rationale", key="decision_rationale")
        if not st.form_submit_button("Record decision", key="decision_submit"):
            return
    if decision is None or not author or not rationale.strip():
        st.error("A decision needs your name and a rationale.")
        return
    try:
        store.record_decision(
            name,
            cast("Decision", decision),
            rationale=rationale.strip(),
            author=author,
            config_hash=experiment.config_hash,
        )
    except AbkitError as error:
        st.error(str(error))
        return
    _saved(author, "Decision")


def _show_decision(record: DecisionRecord) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{record.decision}** · {_markdown_text(record.author)} · "
            f"{components.day(record.created_at)}"
        )
        st.text(record.rationale)
        if record.config_hash and record.config_hash != experiment.config_hash:
            st.caption(
                f"taken on config `{record.config_hash}`; exp.yaml has changed since"
            )


def _show_note(note: Note) -> None:
    with st.container(border=True):
        about = f" · on *{note.metric}*" if note.metric else ""
        stamp = note.created_at.strftime("%Y-%m-%d %H:%M")
        st.markdown(f"**{_markdown_text(note.author)}** · {stamp}{about}")
        st.text(note.text)


forms, log = st.columns([2, 3], gap="large")
with forms:
    _note_form(store)
    _decision_form(store)
with log:
    decisions = store.decisions(name)
    st.subheader(f"Decision log ({len(decisions)})")
    for record in decisions:
        _show_decision(record)
    if not decisions:
        st.caption("No decision recorded yet.")
    notes = store.notes(name)
    st.subheader(f"Notes ({len(notes)})")
    for note in notes:
        _show_note(note)
    if not notes:
        st.caption("No notes yet: be the first.")
