"""Pure helpers behind the Streamlit app: finding experiments, cache keys, status.

Nothing here imports streamlit, so the app's plumbing can be unit-tested and the
pages under `app/` stay thin: they call these helpers and the public API, and render.
"""

from __future__ import annotations

import datetime as dt
import glob
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

from abkit.analysis.text import format_lift
from abkit.config import CorrectionMethod, Experiment, load_experiment
from abkit.errors import AbkitError

if TYPE_CHECKING:  # the experiments list starts without loading the statistics
    from abkit.analysis.results import AnalysisResult

EXPERIMENT_GLOB = "**/exp*.yaml"
"""Experiment files the app lists, searched recursively under its folder."""
CORRECTIONS: tuple[str, ...] = get_args(CorrectionMethod)
"""Multiple-testing corrections `abkit.analyze(..., correction=)` accepts."""
DIR_ENV = "ABKIT_APP_DIR"
"""Environment variable naming the experiments folder (when `--dir` is not given)."""
STORE_FILENAME = "abkit.db"
"""The results store (notes, decisions) inside the experiments folder."""
CLOSED_DECISIONS = frozenset({"ship", "iterate", "stop"})
"""Recorded decisions that end an experiment ('extend' keeps it running)."""

Status = Literal["running", "stopped", "decided"]
FileStamp = tuple[str, int | None]
"""A file and its modification time in nanoseconds (None if it does not exist)."""


@dataclass(frozen=True, slots=True)
class ExperimentEntry:
    """One exp.yaml found under the app's folder: loaded, or its one-line error."""

    path: Path
    relative: str
    key: str
    experiment: Experiment | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        """What the experiment picker shows."""
        if self.experiment is None:
            return f"{self.relative} (does not load)"
        return self.experiment.title

    @property
    def name(self) -> str:
        """The experiment's name (the store's key), or the relative path if broken."""
        return self.experiment.name if self.experiment is not None else self.relative


def discover_experiments(directory: Path | str) -> tuple[ExperimentEntry, ...]:
    """Every `exp*.yaml` under `directory` (recursive), loaded or with its error.

    A file that fails to load keeps its one-line `AbkitError` message, so the app can
    show it while the other experiments keep working. Hidden folders are skipped.
    The URL key of an entry is the experiment's name when that is unique, otherwise
    its path relative to `directory`.
    """
    root = Path(directory)
    paths = sorted(
        path
        for path in root.glob(EXPERIMENT_GLOB)
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    loaded: list[tuple[Path, str, Experiment | None, str | None]] = []
    for path in paths:
        relative = path.relative_to(root).as_posix()
        try:
            loaded.append((path, relative, load_experiment(path), None))
        except AbkitError as error:
            loaded.append((path, relative, None, _one_line(str(error))))
    names = Counter(exp.name for _, _, exp, _ in loaded if exp is not None)
    return tuple(
        ExperimentEntry(
            path=path,
            relative=relative,
            key=exp.name if exp is not None and names[exp.name] == 1 else relative,
            experiment=exp,
            error=error,
        )
        for path, relative, exp, error in loaded
    )


def find_entry(
    entries: Sequence[ExperimentEntry], key: str | None
) -> ExperimentEntry | None:
    """The entry a URL key names (its key, name or relative path), if any."""
    if not key:
        return None
    for attribute in ("key", "name", "relative"):
        for entry in entries:
            if getattr(entry, attribute) == key:
                return entry
    return None


@dataclass(frozen=True, slots=True)
class AnalysisKey:
    """What an analysis depends on: the cache key of the app's heavy queries.

    Any edit of exp.yaml, the metrics file or a data file changes a modification
    time, so a cached result is never served for changed inputs.
    """

    path: str
    exp_mtime: int | None
    metrics_mtime: int | None
    data_mtimes: tuple[FileStamp, ...]
    cuped: bool | None
    correction: str | None
    as_of: str | None = None
    """Analyse only data before this ISO date (the app's as-of picker); None: all."""


def analysis_key(
    experiment: Experiment,
    *,
    cuped: bool | None = None,
    correction: str | None = None,
    as_of: dt.date | None = None,
) -> AnalysisKey:
    """The cache key of analysing `experiment` with these options.

    Options left as None take exp.yaml's choice, so the default view and an explicit
    request for the same options share one cache entry.
    """
    if experiment.path is None:
        raise AbkitError(
            f"{experiment.name}: the experiment has no exp.yaml path; load it with "
            "abkit.load_experiment(path)"
        )
    path = Path(experiment.path)
    metrics = (path.parent / experiment.metrics_file).resolve()
    return AnalysisKey(
        path=str(path),
        exp_mtime=_mtime(path),
        metrics_mtime=_mtime(metrics),
        data_mtimes=tuple(
            (name, _mtime(Path(name))) for name in data_files(experiment)
        ),
        cuped=experiment.cuped.enabled if cuped is None else cuped,
        correction=default_correction(experiment) if correction is None else correction,
        as_of=as_of.isoformat() if as_of is not None else None,
    )


def data_files(experiment: Experiment) -> tuple[str, ...]:
    """The local files behind the experiment's sources (globs expanded, URLs kept)."""
    files: list[str] = []
    sources = experiment.data
    for source in (sources.assignments, sources.events, sources.units):
        if source is None or source.path is None:
            continue  # a `table:` source has no file to watch
        if re.match(r"^\w+://", source.path) or not glob.has_magic(source.path):
            files.append(source.path)
        else:
            files.extend(sorted(glob.glob(source.path, recursive=True)))
    return tuple(files)


def run_analysis(key: AnalysisKey) -> AnalysisResult:
    """Analyse the experiment a key describes (the function the app caches)."""
    from abkit.analysis.run import analyze

    correction = cast("CorrectionMethod | None", key.correction)
    as_of = dt.date.fromisoformat(key.as_of) if key.as_of else None
    return analyze(key.path, cuped=key.cuped, correction=correction, as_of=as_of)


def primary_metric(experiment: Experiment) -> str:
    """The decision rules' primary metric, else the first metric listed."""
    rules = experiment.decision
    return rules.primary if rules is not None else experiment.metric_names[0]


def default_correction(experiment: Experiment) -> str:
    """The correction exp.yaml's decision rules name ('none' without rules)."""
    return experiment.decision.correction if experiment.decision else "none"


def experiment_status(
    experiment: Experiment, decision: str | None, today: dt.date
) -> Status:
    """Decided (a closing decision is recorded), stopped (past `end`) or running."""
    if decision in CLOSED_DECISIONS:
        return "decided"
    if experiment.end is not None and experiment.end <= today:
        return "stopped"
    return "running"


OUTCOME_HEADLINES = {
    "ship": "Ship",
    "do_not_ship": "Do not ship",
    "keep_running": "Keep running",
    "investigate": "Investigate data quality",
}


@dataclass(frozen=True, slots=True)
class OverviewSummary:
    """What the experiments list shows of one analysis (live, or a stored snapshot)."""

    health: str
    recommendation: str
    lift: str
    failed: bool


def overview_summary(payload: Mapping[str, Any], primary: str) -> OverviewSummary:
    """The list's cells from an analysis' JSON payload (`AnalysisResult.to_dict()`).

    A failed health check (SRM above all) reads "investigate", never like a
    healthy experiment with no significant change.
    """
    failed = [c["name"] for c in payload.get("health", []) if c["status"] == "failed"]
    warned = sum(c["status"] == "warning" for c in payload.get("health", []))
    health = (
        f"FAILED: {', '.join(failed)}" if failed
        else f"ok, {warned} warning(s)" if warned else "ok"
    )  # fmt: skip
    decision = payload.get("decision") or {}
    outcome = "investigate" if failed else decision.get("outcome")
    metric = next(
        (m for m in payload.get("metrics", []) if m["metric"] == primary), None
    )
    lift = (
        format_lift(*(_number(metric.get(k)) for k in
                      ("relative", "relative_ci_lower", "relative_ci_upper")))
        if metric is not None
        else "–"
    )  # fmt: skip
    return OverviewSummary(
        health, OUTCOME_HEADLINES.get(str(outcome), "–"), lift, bool(failed)
    )


def resolve_app_dir(
    argv: Sequence[str], environ: Mapping[str, str], default: Path
) -> Path:
    """The experiments folder: `--dir DIR` in argv, else $ABKIT_APP_DIR, else default.

    `streamlit run app.py -- --dir DIR` passes everything after `--` to the script.
    """
    for index, arg in enumerate(argv):
        if arg == "--dir" and index + 1 < len(argv):
            return Path(argv[index + 1]).expanduser().resolve()
        if arg.startswith("--dir="):
            return Path(arg.removeprefix("--dir=")).expanduser().resolve()
    if environ.get(DIR_ENV):
        return Path(environ[DIR_ENV]).expanduser().resolve()
    return default.resolve()


def page_url(current_url: str | None, page: str, params: Mapping[str, str]) -> str:
    """A shareable link to `page` with `params`, next to the page at `current_url`.

    Without a current URL (e.g. in tests) the link is relative.
    """
    query = urlencode(dict(params))
    if not current_url:
        return f"{page}?{query}" if query else page
    scheme, netloc, path, _, _ = urlsplit(current_url)
    base = path.rsplit("/", 1)[0] if "/" in path else ""
    return urlunsplit((scheme, netloc, f"{base}/{page}", query, ""))


def _number(value: Any) -> float:
    """A JSON number (None for NaN in stored payloads) as a float."""
    return float(value) if isinstance(value, int | float) else math.nan


def _mtime(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _one_line(message: str) -> str:
    return " ".join(message.split())
