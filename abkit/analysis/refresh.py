"""Incremental refresh: re-analyse a running experiment by scanning only new events.

The state (Parquet, one file per experiment, beside the results store) holds each
exposed unit's raw aggregates over the events before a cut (the data watermark's
day minus `refresh_buffer_days`), with the config key, the experiment's first
exposure and per-day row counts and checksums of the events it summarises. A
refresh checks those, aggregates the events since the cut (and the whole history
of units exposed since), adds the state and runs the usual caps, unit values and
moments on the sum (queries/refresh.sql), so its numbers are a full recomputation's.
Whatever cannot be added up that way runs in full, and `RefreshOutcome` says why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abkit.analysis.assembly import build_result
from abkit.analysis.queries import (
    EngineChoice,
    QueryResults,
    arrow_frame,
    daily_exposures,
    exposure_health,
    locked_engine,
    run_queries,
)
from abkit.analysis.query_plan import analysis_queries
from abkit.analysis.results import AnalysisResult
from abkit.analysis.run import with_options
from abkit.config import CorrectionMethod, Experiment, load_experiment
from abkit.engines.duckdb import DuckDBEngine
from abkit.sql.render import (
    RenderedSource,
    analysis_context,
    quote_literal,
    render_template,
    timestamp_literal,
)

STATE_FORMAT = 1
"""Bumped whenever the state's layout changes (an older state then runs in full)."""


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What a refresh scanned, or why it recomputed everything."""

    incremental: bool
    reason: str
    events_since: dt.date | None = None
    next_cut: dt.date | None = None

    def describe(self) -> str:
        """One line for the terminal."""
        if self.incremental:
            return (
                f"refresh: incremental, scanned events since {self.events_since} "
                f"(state kept up to {self.next_cut})"
            )
        return f"refresh: full recomputation ({self.reason})"


@dataclass(frozen=True, slots=True)
class StoredState:
    """The kept aggregates' file and what they were computed from."""

    path: Path
    meta: dict[str, Any]

    @property
    def cut(self) -> dt.date:
        """Events before midnight of this day are in the state."""
        return dt.date.fromisoformat(self.meta["cut"])


def state_path(directory: Path, experiment: Experiment) -> Path:
    """The state file of `experiment` in `directory`."""
    return directory / f"{experiment.name}.refresh.parquet"


def config_key(experiment: Experiment) -> str:
    """What the kept aggregates depend on: the config and the analysis options."""
    parts = {
        "format": STATE_FORMAT,
        "config": experiment.config_hash,
        "cuped": experiment.cuped.enabled,
        "start": str(experiment.start),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def not_additive(experiment: Experiment, choice: EngineChoice) -> str | None:
    """Why this analysis cannot be refreshed incrementally, or None."""
    if choice.con is not None or (choice.engine or experiment.engine) != "duckdb":
        return "incremental refresh runs on abkit's own DuckDB engine only"
    extra = set(analysis_queries(experiment)) - {"moments", "exposure_health"}
    if extra:
        return (
            f"{', '.join(sorted(extra))} read every unit's events and are not sums "
            "per day"
        )
    columns = analysis_context(experiment)["columns"]
    distinct = [c["column"] for c in columns if c["aggregate"] == "distinct_partners"]
    if distinct:
        return "distinct partners per unit do not add up over days"
    return None


def read_state(path: Path) -> StoredState | None:
    """The stored state's metadata (the file's footer only), or None without one."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid):
        return None
    raw = (schema.metadata or {}).get(b"abkit_refresh")
    return StoredState(path, json.loads(raw)) if raw is not None else None


def scratch_path(path: Path) -> Path:
    """Where the new state is written before it replaces the old one."""
    return path.with_name(path.name + ".tmp")


def refresh_analysis(
    experiment: Experiment | str | Path,
    state_dir: Path,
    *,
    as_of: dt.date | None = None,
    cuped: bool | None = None,
    correction: CorrectionMethod | None = None,
    engine: str | None = None,
    spark_master: str | None = None,
    dsn: str | None = None,
) -> tuple[AnalysisResult, RefreshOutcome]:
    """Analyse `experiment` as `analyze` does, reusing and renewing the kept state.

    The state is `state_dir`/<experiment>.refresh.parquet. An analysis that cannot
    be refreshed (another engine, queries that are not sums per day) runs in full,
    and the outcome says why; so does a changed configuration or changed old data.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    experiment = with_options(experiment, as_of=as_of, cuped=cuped)
    choice = EngineChoice(engine=engine, spark_master=spark_master, dsn=dsn)
    reason = not_additive(experiment, choice)
    if reason is not None:
        frames = run_queries(experiment, choice=choice)
        return build_result(experiment, frames, correction), RefreshOutcome(
            False, reason
        )
    path = state_path(state_dir, experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames, outcome = _refresh_queries(experiment, path)
    # atomic: a crash leaves the old state or the new one, never half of one
    os.replace(scratch_path(path), path)
    return build_result(experiment, frames, correction), outcome


def _refresh_queries(
    experiment: Experiment, path: Path
) -> tuple[QueryResults, RefreshOutcome]:
    """Run the refresh steps; the new state is written to `scratch_path(path)`."""
    context = analysis_context(experiment) | {"merges": _merges(experiment)}
    state = read_state(path)
    workspace = [str(path), str(scratch_path(path))]
    with locked_engine(experiment, workspace=workspace) as engine:
        assert isinstance(engine, DuckDBEngine)
        run = _Steps(engine, context)
        run.create("abkit_exposures", "exposures")
        first = run.scalar(
            "SELECT CAST(MIN(exposed_at) AS VARCHAR) FROM abkit_exposures"
        )
        state, reason = _usable(run, experiment, state, first)
        since = state.cut if state is not None else None
        if state is None:  # a state found unusable may have been registered
            run.register_state(None)
        kept = state.meta["event_days"] if state is not None else {}
        kept_end = max((last for _, _, last in kept.values()), default=None)
        new_cut, days = run.fresh(experiment, since, kept_end)
        run.create("abkit_next", "state")
        moments = run.frame("moments")
        health = arrow_frame(
            engine.query(analysis_queries(experiment)["exposure_health"])
        )
        meta = {"key": config_key(experiment), "cut": new_cut.isoformat(),
                "first_exposure": first, "event_days": kept | days}  # fmt: skip
        run.write_state(scratch_path(path), meta)
    frames = QueryResults(
        moments=moments,
        exposure_health=exposure_health(health),
        daily_exposures=daily_exposures(health, experiment),
        contamination=None,
        novelty=moments if _novelty(experiment) else None,
    )
    outcome = RefreshOutcome(state is not None, reason, since, new_cut)
    return frames, outcome


def _novelty(experiment: Experiment) -> bool:
    from abkit.analysis.day_split import novelty_experiment

    return novelty_experiment(experiment) is not None


def _usable(
    run: _Steps, experiment: Experiment, state: StoredState | None, first: str
) -> tuple[StoredState | None, str]:
    """The state if it may be reused, else None and the reason."""
    reason = _stale_reason(experiment, state, first) if state else "no stored state yet"
    if reason is not None or state is None:
        return None, reason or "no stored state yet"
    found, kept = run.event_days(None, state.cut), state.meta["event_days"]
    changed = sorted(
        d for d in found.keys() | kept.keys() if found.get(d) != kept.get(d)
    )
    if changed:
        return None, f"events before the watermark changed (day {changed[0]})"
    run.register_state(state.path)
    moved = run.scalar(
        "SELECT COUNT(*) FROM abkit_state AS s INNER JOIN abkit_exposures AS k"
        " ON s.unit_id = k.unit_id WHERE s.exposed_at <> k.exposed_at"
    )
    if moved:
        return None, f"{moved} units' first exposure changed (assignments changed)"
    return state, "incremental"


def _stale_reason(experiment: Experiment, state: StoredState, first: str) -> str | None:
    """Why the state's metadata rules it out, or None."""
    meta = state.meta
    if meta.get("key") != config_key(experiment):
        return "the configuration changed since the state was kept"
    if meta.get("first_exposure") != first:
        return "the experiment's first exposure moved (assignments changed)"
    if experiment.end is not None and state.cut > experiment.end:
        return f"--as-of {experiment.end} is before the kept cut {state.cut}"
    return None


def _merges(experiment: Experiment) -> list[dict[str, Any]]:
    """How each unit_aggregates column adds up over two disjoint sets of events."""
    counts = ["events_after_exposure", "events_before_exposure", "events_in_pre_period"]
    merges: list[dict[str, Any]] = [
        {"column": c, "merge": "SUM", "integer": True} for c in counts
    ]
    for c in analysis_context(experiment)["columns"]:
        merge = "MAX" if c["aggregate"] == "any" else "SUM"
        integer = c["aggregate"] != "sum" or c["value"] == "1"
        merges.append({"column": c["column"], "merge": merge, "integer": integer})
    return merges


class _Steps:
    """The steps of refresh.sql on one locked-down DuckDB connection."""

    def __init__(self, engine: DuckDBEngine, context: dict[str, Any]) -> None:
        self.engine = engine
        self.context = context

    def sql(self, step: str, **extra: Any) -> str:
        return render_template("refresh.sql", self.context | extra | {"step": step})

    def create(self, table: str, step: str, **extra: Any) -> None:
        body = self.sql(step, **extra)
        self.engine.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS {body}"
        )

    def scalar(self, sql: str) -> Any:
        row = self.engine.connection.execute(sql).fetchone()
        return row[0] if row else None

    def arrow(self, step: str) -> pa.Table:
        return self.engine.query(self.sql(step))

    def frame(self, step: str) -> pd.DataFrame:
        return arrow_frame(self.arrow(step))

    def register_state(self, path: Path | None) -> None:
        """Load the kept state (read once, then used by several steps)."""
        con = self.engine.connection
        con.execute("DROP TABLE IF EXISTS abkit_state")
        if path is not None:
            con.execute(
                "CREATE TEMP TABLE abkit_state AS SELECT * FROM"
                f" read_parquet({quote_literal(str(path))})"
            )

    def write_state(self, path: Path, meta: dict[str, Any]) -> None:
        """Write the new state, its metadata in the Parquet footer."""
        tag = quote_literal(json.dumps(meta))
        self.engine.connection.execute(
            f"COPY (SELECT * FROM abkit_next) TO {quote_literal(str(path))}"
            f" (FORMAT parquet, KV_METADATA {{abkit_refresh: {tag}}})"
        )

    def event_days(self, since: dt.date | None, until: dt.date) -> dict[str, list[Any]]:
        """Row count and checksum per day of the events in [since, until)."""
        sql = self.sql(
            "event_days",
            days_from=timestamp_literal(since) if since is not None else None,
            days_until=timestamp_literal(until),
        )
        rows = self.engine.connection.execute(sql).fetchall()
        return {str(d): [int(n), int(check), last] for d, n, check, last in rows}

    def fresh(
        self, experiment: Experiment, since: dt.date | None, kept_end: str | None
    ) -> tuple[dt.date, dict[str, list[Any]]]:
        """Aggregate the new events; the new cut and the event days it settles.

        `kept_end` is the last event before the kept cut (unchanged, as checked).
        """
        context = self.context
        events: RenderedSource = context["events"]
        if since is not None:
            self.engine.connection.execute(
                "CREATE OR REPLACE TEMP TABLE abkit_new_units AS SELECT k.unit_id"
                " FROM abkit_exposures AS k ANTI JOIN abkit_state AS s"
                " ON k.unit_id = s.unit_id"
            )
            column = events.columns
            recent = f"CAST({column['timestamp']} AS TIMESTAMP) >= {timestamp_literal(since)}"
            if self.scalar("SELECT COUNT(*) FROM abkit_new_units"):
                newcomers = "SELECT unit_id FROM abkit_new_units"
                recent += f" OR {column['unit_id']} IN ({newcomers})"
            relation = f"(SELECT * FROM {events.relation} WHERE {recent})"
            events = dataclasses.replace(events, relation=relation)
            self.context = context = context | {"events": events}
        end = self._data_end(experiment)
        if kept_end is not None and experiment.end is None:  # none since the cut
            end = max(end, dt.datetime.fromisoformat(kept_end))
        cut = end.date() - dt.timedelta(days=experiment.refresh_buffer_days)
        if since is not None and cut < since:
            cut = since
        self.context = context | {"data_end_value": f"CAST('{end}' AS TIMESTAMP)"}
        self.create("abkit_fresh", "fresh", settled_before=timestamp_literal(cut))
        if since is None:
            self._empty_state()
        days = self.event_days(since, cut)
        return cut, days

    def _data_end(self, experiment: Experiment) -> dt.datetime:
        if experiment.end is not None:
            return dt.datetime.combine(experiment.end, dt.time())
        body = render_template("sources.sql", self.context)
        value = self.scalar(f"WITH {body} SELECT MAX(ts) FROM events")
        return value if value is not None else dt.datetime(1970, 1, 1)

    def _empty_state(self) -> None:
        con = self.engine.connection
        con.execute(
            "CREATE OR REPLACE TEMP TABLE abkit_state AS SELECT CAST(NULL AS TIMESTAMP)"
            " AS exposed_at, false AS has_events, * EXCLUDE (settled)"
            " FROM abkit_fresh WHERE false"
        )
