"""What every page shares: the folder, the experiments, the picked one, the store.

The router builds an `AppContext` once per run (sidebar picker and analysis options
bound to the URL's query parameters) and the pages read it with `current()`. Heavy
work is cached here: analyses by `abkit.frontends.app_support.AnalysisKey` (file modification
times included, so an edit is never served stale), the store once per folder.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st
from components import as_text

from abkit.config import Experiment
from abkit.errors import AbkitError
from abkit.frontends.app_support import (
    CORRECTIONS,
    STORE_FILENAME,
    AnalysisKey,
    ExperimentEntry,
    analysis_key,
    default_correction,
    discover_experiments,
    find_entry,
    page_url,
    resolve_app_dir,
    run_analysis,
)
from abkit.store.store import ResultStore

if TYPE_CHECKING:  # the experiments list starts without loading the statistics
    from abkit.analysis.results import AnalysisResult

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
CONTEXT_KEY = "_abkit_context"
PICKER_KEY = "experiment"
CUPED_KEY = "cuped"
CORRECTION_KEY = "correction"
OPTIONS_FOR_KEY = "_options_for"

PAGES: dict[str, tuple[str, str, str]] = {
    # url path: (file, title, icon)
    "experiments": ("views/experiments.py", "Experiments", ":material/science:"),
    "scorecard": ("views/scorecard.py", "Scorecard", ":material/scoreboard:"),
    "over_time": ("views/over_time.py", "Over time", ":material/timeline:"),
    "segments": ("views/segments.py", "Segments", ":material/pie_chart:"),
    "plan": ("views/plan.py", "Plan", ":material/calculate:"),
    "discussion": ("views/discussion.py", "Discussion", ":material/forum:"),
    "share": ("views/share.py", "Share", ":material/share:"),
}


@dataclass(frozen=True)
class AppContext:
    """The state of one run of the app, shared by the router and the pages."""

    directory: Path
    entries: tuple[ExperimentEntry, ...]
    entry: ExperimentEntry | None
    cuped: bool | None
    correction: str | None
    missing: str | None = None
    """The `?exp=` of a link that names no experiment here (None otherwise)."""
    as_of: dt.date | None = None
    """Analyse only data before this date (`?as_of=`); None: all the data."""

    @property
    def store_path(self) -> Path:
        """The results store of the experiments folder."""
        return self.directory / STORE_FILENAME

    def link(self, page: str) -> str:
        """A shareable URL of `page` for the picked experiment and options."""
        return page_url(st.context.url, page, self.query())

    def query(self) -> dict[str, str]:
        """The query parameters that reproduce this view."""
        params: dict[str, str] = {}
        if self.entry is not None:
            params["exp"] = self.entry.key
            experiment = self.entry.experiment
            if experiment is not None and self.cuped is not None:
                if self.cuped != experiment.cuped.enabled:
                    params["cuped"] = "on" if self.cuped else "off"
                if self.correction != default_correction(experiment):
                    params["correction"] = str(self.correction)
            if self.as_of is not None:
                params["as_of"] = self.as_of.isoformat()
        return params


def app_directory() -> Path:
    """The experiments folder: `-- --dir DIR`, $ABKIT_APP_DIR, or the repo's data/."""
    return resolve_app_dir(sys.argv[1:], os.environ, REPO_DATA)


def build() -> AppContext:
    """Discover experiments, draw the sidebar picker and options, remember the result."""
    directory = app_directory()
    entries = discover_experiments(directory)
    requested = st.query_params.get("exp")
    missing = (
        requested if requested and find_entry(entries, requested) is None else None
    )
    entry = _picker(entries, missing)
    cuped, correction = _options(entry)
    as_of = _as_of(entry)
    context = AppContext(directory, entries, entry, cuped, correction, missing, as_of)
    st.session_state[CONTEXT_KEY] = context
    _caption(directory, entries)
    return context


def current() -> AppContext:
    """The context the router built for this run (built here if a page runs alone)."""
    context = st.session_state.get(CONTEXT_KEY)
    return context if isinstance(context, AppContext) else build()


def require_experiment(context: AppContext) -> Experiment:
    """The picked experiment; otherwise a one-line message and the page stops."""
    entry = context.entry
    if context.missing is not None:
        not_found(context)
        st.stop()
    if entry is None:
        st.info(
            f"No exp*.yaml found under `{context.directory}`. Start the app with "
            "`abkit app --dir FOLDER` on a folder of experiments."
        )
        st.stop()
    if entry.experiment is None:
        st.error(
            f"**{as_text(entry.relative)} is broken**: {as_text(entry.error)}",
            icon=":material/error:",
        )
        st.stop()
    return entry.experiment


def not_found(context: AppContext) -> None:
    """A link's experiment is not in the folder: say so (and which files are broken)."""
    broken = [e for e in context.entries if e.experiment is None]
    text = (
        f"**Experiment {as_text(context.missing)} was not found** under "
        f"{as_text(context.directory)}. The link may be old, or its file renamed or "
        "broken; pick an experiment in the sidebar."
    )
    if broken:
        names = ", ".join(as_text(e.relative) for e in broken)
        text += f" {len(broken)} file(s) do not load: {names}."
    st.error(text, icon=":material/search_off:")


def analysis(context: AppContext, experiment: Experiment) -> AnalysisResult:
    """The analysis with the sidebar's options (cached); errors stop the page."""
    try:
        key = analysis_key(
            experiment,
            cuped=context.cuped,
            correction=context.correction,
            as_of=context.as_of,
        )
        return analyze_with_status(key, experiment.title)
    except AbkitError as error:
        st.error(as_text(error))
        st.stop()


def analyze_with_status(key: AnalysisKey, title: str) -> AnalysisResult:
    """A cached analysis; the first run of a key shows its progress in `st.status`.

    The status box goes away once the analysis is done (the page then shows it).
    """
    if key in _seen_keys():
        return _cached_analysis(key)
    placeholder = st.empty()
    with placeholder.status(f"Analysing {title}…", expanded=True) as status:
        status.write(
            "Running the fused queries on DuckDB, then the statistics over the "
            "few rows they return"
        )
        try:
            result = _cached_analysis(key)
        except AbkitError:
            status.update(label=f"Analysis of {title} failed", state="error")
            raise
    placeholder.empty()
    _seen_keys().add(key)
    return result


def cached_result(key: AnalysisKey) -> AnalysisResult | None:
    """The analysis of `key` if this app already ran it, else None (nothing runs)."""
    return _cached_analysis(key) if key in _seen_keys() else None


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_analysis(key: AnalysisKey) -> AnalysisResult:
    return run_analysis(key)


@st.cache_resource(show_spinner=False)
def _seen_keys() -> set[AnalysisKey]:
    return set()


@st.cache_resource(show_spinner=False)
def store_at(path: str) -> ResultStore:
    """One results store per folder, shared by every session's threads."""
    return ResultStore(path)


def open_store(context: AppContext, *, create: bool = True) -> ResultStore | None:
    """The folder's store, or None after showing why it cannot be opened.

    With `create=False` a folder without a store stays without one (None), so that
    only writing a note or a decision creates the file.
    """
    if not create and not context.store_path.exists():
        return None
    try:
        return store_at(str(context.store_path))
    except AbkitError as error:
        st.error(as_text(error))
        return None


def _picker(
    entries: tuple[ExperimentEntry, ...], missing: str | None
) -> ExperimentEntry | None:
    """The sidebar's experiment picker, bound to `?exp=` both ways.

    A link naming no experiment here leaves the picker empty and the URL as it is
    (the pages then say it was not found) instead of opening another experiment.
    """
    if not entries:
        return None
    keys = [entry.key for entry in entries]
    wanted = find_entry(entries, st.query_params.get("exp"))
    if wanted is not None:
        st.session_state[PICKER_KEY] = wanted.key
    elif missing is not None:
        st.session_state[PICKER_KEY] = None
    elif st.session_state.get(PICKER_KEY) not in keys:
        first = next((e for e in entries if e.experiment is not None), entries[0])
        st.session_state[PICKER_KEY] = first.key
    titles = Counter(entry.label for entry in entries)
    labels = {
        e.key: e.label if titles[e.label] == 1 else f"{e.label} ({e.relative})"
        for e in entries
    }
    chosen = st.sidebar.selectbox(
        "Experiment",
        keys,
        key=PICKER_KEY,
        format_func=labels.__getitem__,
        on_change=_picked,
        index=None,
        placeholder="Choose an experiment",
    )
    if chosen is None:
        return None
    st.query_params["exp"] = chosen
    return find_entry(entries, chosen)


def _picked() -> None:
    st.query_params["exp"] = st.session_state[PICKER_KEY]
    for param in ("cuped", "correction"):
        _drop_param(param)


def _options(entry: ExperimentEntry | None) -> tuple[bool | None, str | None]:
    """CUPED and correction in the sidebar, reset to exp.yaml's on a new experiment."""
    if entry is None or entry.experiment is None:
        return None, None
    experiment = entry.experiment
    defaults = (experiment.cuped.enabled, default_correction(experiment))
    if st.session_state.get(OPTIONS_FOR_KEY) != entry.key:
        st.session_state[OPTIONS_FOR_KEY] = entry.key
        st.session_state[CUPED_KEY], st.session_state[CORRECTION_KEY] = defaults
    cuped_param = st.query_params.get("cuped")
    if cuped_param in ("on", "off"):
        st.session_state[CUPED_KEY] = cuped_param == "on"
    if st.query_params.get("correction") in CORRECTIONS:
        st.session_state[CORRECTION_KEY] = st.query_params["correction"]
    sidebar = st.sidebar
    sidebar.markdown("**Analysis options**")
    cuped = sidebar.toggle(
        "CUPED variance reduction",
        key=CUPED_KEY,
        help="Adjust each metric with its pre-period value (exp.yaml: cuped.enabled).",
        on_change=_bind_param,
        args=(CUPED_KEY, "cuped", defaults[0]),
    )
    correction = sidebar.selectbox(
        "Multiple-testing correction",
        CORRECTIONS,
        key=CORRECTION_KEY,
        help="Over the decision rules' primary and secondary metrics "
        "(exp.yaml: decision.correction).",
        on_change=_bind_param,
        args=(CORRECTION_KEY, "correction", defaults[1]),
    )
    # a page switch may drop the query string: write the options back
    _bind_param(CUPED_KEY, "cuped", defaults[0])
    _bind_param(CORRECTION_KEY, "correction", defaults[1])
    return bool(cuped), str(correction)


def _as_of(entry: ExperimentEntry | None) -> dt.date | None:
    """The sidebar's as-of picker, bound to `?as_of=` (empty: all the data)."""
    if entry is None or entry.experiment is None:
        return None
    text = st.query_params.get("as_of")
    try:
        wanted = dt.date.fromisoformat(text) if text else None
    except ValueError:
        st.sidebar.warning(f"as\\_of {as_text(text)} is not a date (YYYY-MM-DD)")
        wanted = None
    picked = st.sidebar.date_input(
        "Data as of",
        value=wanted,
        min_value=entry.experiment.start,
        help="Analyse only the data before this date, as if run that morning "
        "(abkit analyze --as-of). Empty: all the data.",
        key=f"as_of_{entry.key}",
    )
    chosen = picked if isinstance(picked, dt.date) else None
    if chosen is None:
        _drop_param("as_of")
    else:
        st.query_params["as_of"] = chosen.isoformat()
    return chosen


def _bind_param(key: str, param: str, default: bool | str) -> None:
    """Keep a changed option in the URL (only when it differs from exp.yaml's)."""
    value = st.session_state[key]
    if value == default:
        _drop_param(param)
    elif isinstance(value, bool):
        st.query_params[param] = "on" if value else "off"
    else:
        st.query_params[param] = str(value)


def _drop_param(param: str) -> None:
    if param in st.query_params:
        del st.query_params[param]


def _caption(directory: Path, entries: tuple[ExperimentEntry, ...]) -> None:
    broken = sum(entry.experiment is None for entry in entries)
    text = f"{len(entries)} experiment file(s) under `{directory}`"
    if broken:
        text += f" · {broken} do not load"
    st.sidebar.caption(text)
