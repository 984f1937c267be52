"""Incremental refresh: re-analyse a running experiment by scanning only new events.

The state (a DuckDB file per experiment, beside the results store) keeps each
exposed unit's raw aggregates over the events before a cut (the data watermark's
day minus `refresh_buffer_days`), those of the buffer's events since the cut, and
the moments of the last refresh with the shifts and caps they used. A refresh
checks that the state still holds (config key, source files, per-day row counts
and checksums of the old events when a file changed), aggregates the events since
the cut (and the whole history of units exposed since), and updates the moments by
the changed units alone: their old rows out, their new rows in
(abkit/analysis/refresh/cells.py). Its numbers are a full recomputation's; whatever
cannot be updated that way runs in full, and `RefreshOutcome` says why.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from abkit.aggregates.rows import table_rows
from abkit.analysis.assembly import build_result
from abkit.analysis.queries import (
    EngineChoice,
    QueryResults,
    check_columns,
    locked_engine,
    refuse_bad_values,
    run_queries,
)
from abkit.analysis.query_plan import QUERY_NAMES, analysis_queries
from abkit.analysis.refresh.checks import (
    STATE_FORMAT,
    config_key,
    experiment_files,
    stale_reason,
)
from abkit.analysis.refresh.outcome import RefreshOutcome, results
from abkit.analysis.refresh.steps import Steps, state_files, workspace_files
from abkit.analysis.results import AnalysisResult
from abkit.analysis.run import with_options
from abkit.config import CorrectionMethod, Experiment, load_experiment
from abkit.engines.duckdb import DuckDBEngine
from abkit.sql.clusters import render_cluster_sql
from abkit.sql.quantiles import render_quantiles_sql
from abkit.sql.render import (
    analysis_context,
    render_contamination_sql,
    render_health_sql,
)

__all__ = [
    "STATE_FORMAT",
    "RefreshOutcome",
    "config_key",
    "not_additive",
    "refresh_analysis",
    "state_path",
]


def state_path(directory: Path, experiment: Experiment) -> Path:
    """The state file of `experiment` in `directory`."""
    return directory / f"{experiment.name}.refresh.duckdb"


def scratch_path(path: Path) -> Path:
    """Where a new state is built before it replaces the old one."""
    return path.with_name(path.name + ".new")


def not_additive(
    experiment: Experiment,
    choice: EngineChoice,
    context: dict[str, Any] | None = None,
) -> str | None:
    """Why this analysis cannot be refreshed incrementally, or None.

    `context`: the experiment's analysis_context, if already rendered.
    """
    if choice.con is not None or (choice.engine or experiment.engine) != "duckdb":
        return "incremental refresh runs on abkit's own DuckDB engine only"
    extra = _extra_queries(experiment)
    if extra:
        return (
            f"{', '.join(sorted(extra))} read every unit's events and are not sums "
            "per day"
        )
    columns = (context or analysis_context(experiment))["columns"]
    distinct = [c["column"] for c in columns if c["aggregate"] == "distinct_partners"]
    if distinct:
        return "distinct partners per unit do not add up over days"
    return None


def _extra_queries(experiment: Experiment) -> set[str]:
    """The analysis's queries besides moments and exposure health.

    Asked of each optional query's renderer (cheaper than rendering every query);
    should query_plan ever name a query not known here, every query is rendered.
    """
    known: dict[str, Callable[[Experiment], str | None]] = {
        "contamination": render_contamination_sql,
        "quantiles": render_quantiles_sql,
        "clusters": render_cluster_sql,
    }
    if set(QUERY_NAMES) - {"moments", "exposure_health"} - known.keys():
        return set(analysis_queries(experiment)) - {"moments", "exposure_health"}
    return {name for name, render in known.items() if render(experiment) is not None}


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

    The state is `state_dir`/<experiment>.refresh.duckdb. An analysis that cannot
    be refreshed (another engine, queries that are not sums per day) runs in full,
    and the outcome says why; so does a changed configuration or changed old data,
    and a state file that cannot be read (it is then rebuilt).
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    experiment = with_options(experiment, as_of=as_of, cuped=cuped)
    choice = EngineChoice(engine=engine, spark_master=spark_master, dsn=dsn)
    context = analysis_context(experiment)
    reason = not_additive(experiment, choice, context)
    if reason is not None:
        frames = run_queries(experiment, choice=choice)
        return build_result(experiment, frames, correction), RefreshOutcome(
            False, reason
        )
    path = state_path(state_dir, experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames, outcome = _refresh_queries(experiment, path, context)
    return build_result(experiment, frames, correction), outcome


def _refresh_queries(
    experiment: Experiment, path: Path, context: dict[str, Any]
) -> tuple[QueryResults, RefreshOutcome]:
    """Update the state incrementally when it holds, else rebuild it in full."""
    from abkit.analysis.refresh.incremental import Refused, incremental

    context = context | {"merges": _merges(context)}
    files = experiment_files(experiment)
    workspace = [str(p) for p in workspace_files(path, scratch_path(path))]
    with locked_engine(experiment, workspace=workspace, checked=False) as engine:
        assert isinstance(engine, DuckDBEngine)
        check_columns(engine, experiment)
        run = Steps(engine, context)
        reason = "no stored state yet"
        if path.exists():
            try:
                meta = run.read_meta(path)
                reason = stale_reason(experiment, meta, files) or ""
                if not reason:
                    return incremental(run, experiment, meta, files)
            except Refused as refused:
                reason = str(refused)
            except (duckdb.Error, ValueError, KeyError, TypeError) as error:
                first = str(error).strip().splitlines()[0] if str(error) else "?"
                reason = f"the stored state cannot be read ({first}); it is rebuilt"
            run.detach()
            run.context = context
        refuse_bad_values(engine, experiment)
        frames, cut = _full(run, experiment, files, path)
    return frames, RefreshOutcome(False, reason, next_cut=cut)


def _full(
    run: Steps, experiment: Experiment, files: dict[str, Any], path: Path
) -> tuple[QueryResults, dt.date]:
    """Compute everything from all events, write a new state file; the new cut."""
    run.create_step("abkit_exposures", "exposures")
    first = run.scalar("SELECT CAST(MIN(exposed_at) AS VARCHAR) FROM abkit_exposures")
    if experiment.end is not None:
        end = dt.datetime.combine(experiment.end, dt.time())
    else:
        end = run.events_end() or dt.datetime(1970, 1, 1)
    cut = end.date() - dt.timedelta(days=experiment.refresh_buffer_days)
    run.create_step(
        "abkit_fresh",
        "fresh",
        exposures_table="abkit_exposures",
        settled_before=f"CAST('{cut}' AS TIMESTAMP)",
    )
    settled = "SELECT * EXCLUDE (settled) FROM abkit_fresh WHERE settled"
    buffer = "SELECT * EXCLUDE (settled) FROM abkit_fresh WHERE NOT settled"
    run.merge("abkit_current", settled, buffer)
    run.caps_row("abkit_caps", "abkit_exposures", "abkit_current", end)
    moments = run.engine.query(
        run.sql(
            "moments",
            exposures_table="abkit_exposures",
            aggregates_table="abkit_current",
            caps_table="abkit_caps",
            data_end_value=f"CAST('{end}' AS TIMESTAMP)",
        )
    )
    health = run.engine.query(render_health_sql(experiment))
    days = run.event_days(None, cut)
    units = (
        "(SELECT k.exposed_at, k.variant, s.unit_id IS NOT NULL AS has_events,"
        " k.unit_id, s.* EXCLUDE (unit_id, settled) FROM abkit_exposures AS k"
        " LEFT JOIN (SELECT * FROM abkit_fresh WHERE settled) AS s"
        " ON s.unit_id = k.unit_id)"
    )
    meta = {
        "key": config_key(experiment),
        "cut": cut.isoformat(),
        "data_end": end.isoformat(),
        "window_end": str(experiment.end) if experiment.end else None,
        "first_exposure": first,
        "event_days": days,
        "files": files,
    }
    scratch = scratch_path(path)
    for stale in state_files(scratch):
        stale.unlink(missing_ok=True)
    run.attach(scratch)
    run.write_new_state(
        path,
        {"units": units, "buffer": f"({buffer})"},
        {"moments": moments, "caps": "abkit_caps", "health": health},
        meta,
    )
    run.detach()
    for stale in state_files(path)[1:]:
        stale.unlink(missing_ok=True)
    os.replace(scratch, path)  # atomic: the old state or the new one, never half
    run.remove_unreferenced()
    return results(experiment, table_rows(moments), table_rows(health)), cut


def _merges(context: dict[str, Any]) -> list[dict[str, Any]]:
    """How each unit_aggregates column adds up over two disjoint sets of events."""
    counts = ["events_after_exposure", "events_before_exposure", "events_in_pre_period"]
    merges: list[dict[str, Any]] = [
        {"column": c, "merge": "SUM", "integer": True} for c in counts
    ]
    for c in context["columns"]:
        merge = "MAX" if c["aggregate"] == "any" else "SUM"
        integer = c["aggregate"] != "sum" or c["value"] == "1"
        merges.append({"column": c["column"], "merge": merge, "integer": integer})
    return merges
