"""The incremental refresh: only the events since the kept cut, only changed units.

A unit's value can change only if it has events since the cut, had events in the
kept buffer, is new, left the analysis (now seen in a second variant) or moved
(its first exposure changed), or its windowed metric's censoring flips because the
data end moved. Those units' moments as kept are subtracted and their moments now
added (cells.py), about the kept shifts. When a winsorizing cap moves, every
capped value changes: the moments are then recomputed over every unit's kept
aggregates (no old event is read), and the outcome says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from abkit.analysis.queries import QueryResults, refuse_bad_values
from abkit.analysis.refresh.cells import updated_moments
from abkit.analysis.refresh.checks import config_key, old_events_unchanged
from abkit.analysis.refresh.outcome import RefreshOutcome, results
from abkit.analysis.refresh.steps import Steps, instant
from abkit.config import Experiment
from abkit.sql.render import render_health_sql, render_template, timestamp_literal

FRESH_RAW = "abkit_fresh_raw"
CHANGED = "abkit_changed"
KEPT_CHANGED = "abkit_kept_changed"
NEXT_ROWS = "abkit_next_rows"
KEPT_EXPOSURES = "abkit_kept_exposures"


class Refused(Exception):
    """The state does not hold for this refresh; the message says why."""


def incremental(
    run: Steps, experiment: Experiment, meta: dict[str, Any], files: dict[str, Any]
) -> tuple[QueryResults, RefreshOutcome]:
    """Update the kept state by the events since its cut; the frames and outcome."""
    since = dt.date.fromisoformat(meta["cut"])
    old_end = dt.datetime.fromisoformat(meta["data_end"])
    kept_days: dict[str, list[Any]] = meta["event_days"]
    units, note = run.kept("units"), []
    same_exposures = _exposures(run, experiment, meta, files)
    exposures = KEPT_EXPOSURES if same_exposures else "abkit_exposures"
    if not same_exposures:
        note.append(_exposure_note(run))
    _check_old_events(run, experiment, meta, files)
    _fresh_events(run, experiment, since, same_exposures)
    latest = [dt.datetime.fromisoformat(last) for _, _, last in kept_days.values()]
    fresh_end = run.events_end()
    last_event = max(latest + ([fresh_end] if fresh_end else []), default=None)
    if experiment.end is not None:
        end = dt.datetime.combine(experiment.end, dt.time())
    else:
        end = last_event or dt.datetime(1970, 1, 1)
    cut = max(since, end.date() - dt.timedelta(days=experiment.refresh_buffer_days))
    run.create_step(
        "abkit_fresh",
        "fresh",
        exposures_table=exposures,
        settled_before=f"CAST('{cut}' AS TIMESTAMP)",
    )
    marked = _marked_units(run, same_exposures, old_end, end)
    old_aggregates, new_aggregates = _unit_tables(run, units, same_exposures, marked)
    kept_caps = run.kept("caps")
    caps = {
        str(k): v for k, v in run.frame(f"SELECT * FROM {kept_caps}").iloc[0].items()
    }
    moved = _caps_moved(run, caps, exposures, new_aggregates, end)
    if moved:
        note.append(
            f"cap {moved} moved: moments recomputed from every unit's kept sums"
        )
        run.caps_row("abkit_caps", exposures, "abkit_all_aggregates", end)
        moments = run.moments(exposures, "abkit_all_aggregates", "abkit_caps", end)
        caps_table: str | None = "abkit_caps"
    else:
        aggregates = (old_aggregates, new_aggregates)
        moments = _updated_moments(run, caps, aggregates, (old_end, end))
        caps_table = None
    health = _health(run, experiment, same_exposures, last_event)
    days = kept_days | run.event_days(since, cut)
    new_meta = meta | {
        "key": config_key(experiment),
        "cut": cut.isoformat(),
        "data_end": end.isoformat(),
        "window_end": str(experiment.end) if experiment.end else None,
        "event_days": days,
        "files": files,
    }
    others: dict[str, Any] = {
        "buffer": "(SELECT * EXCLUDE (settled) FROM abkit_fresh WHERE NOT settled)",
        "moments": moments,
        "health": health,
    }
    if caps_table is not None:
        others["caps"] = caps_table
    rewritten = f"SELECT unit_id FROM {NEXT_ROWS} WHERE rewritten"
    if not same_exposures:  # and those no longer analysed
        rewritten += f" UNION SELECT unit_id FROM {CHANGED} ANTI JOIN {NEXT_ROWS} USING (unit_id)"
    run.update_units(f"({rewritten})", _delta_rows(same_exposures), others, new_meta)
    moment_rows = run.rows(f"SELECT * FROM {run.kept('moments')}")
    health_rows = run.rows(f"SELECT * FROM {run.kept('health')}")
    run.detach()
    run.remove_unreferenced()
    outcome = RefreshOutcome(
        True, "incremental", since, cut, "; ".join(n for n in note if n)
    )
    return results(experiment, moment_rows, health_rows), outcome


def _check_old_events(
    run: Steps, experiment: Experiment, meta: dict[str, Any], files: dict[str, Any]
) -> None:
    """Refuse the state if the events before its cut changed."""
    since = dt.date.fromisoformat(meta["cut"])
    kept_days: dict[str, list[Any]] = meta["event_days"]
    events = experiment.data.events
    if not old_events_unchanged(
        meta["files"]["events"], files["events"], events.timestamp, since
    ):
        found = run.event_days(None, since)
        changed = sorted(
            d
            for d in found.keys() | kept_days.keys()
            if found.get(d) != kept_days.get(d)
        )
        if changed:
            raise Refused(f"events before the watermark changed (day {changed[0]})")


def _unit_tables(
    run: Steps, units: str, same: bool, marked: str | None
) -> tuple[str, str]:
    """The changed units and their kept and new rows; their aggregates as kept, now.

    Creates CHANGED (every unit whose moments may differ from the kept ones),
    KEPT_CHANGED (their kept rows) and NEXT_ROWS (their new kept rows: exposure
    now, kept + fresh settled, and whether the row changed). Returns the
    relations of their aggregates as the state had them (kept + kept buffer) and
    now (new kept + fresh buffer), each read once, so not materialised. Every
    table is one unit_aggregates row wide: joining all parts into one wide row
    per unit instead cost more CPU, in hash-join payload, than these merges.
    """
    kept_buffer = run.kept("buffer")
    parts = ["SELECT unit_id FROM abkit_fresh", f"SELECT unit_id FROM {kept_buffer}"]
    run.create(CHANGED, " UNION ".join(parts + ([marked] if marked else [])))
    run.create(
        KEPT_CHANGED,
        f"SELECT s.* FROM {units} AS s SEMI JOIN {CHANGED} AS c ON s.unit_id = c.unit_id",
    )
    kept_rows = (
        "SELECT s.* EXCLUDE (exposed_at, variant, has_events)"
        f" FROM {KEPT_CHANGED} AS s WHERE s.has_events"
    )
    run.create_step(
        NEXT_ROWS,
        "settle",
        fresh_table="abkit_fresh",
        kept_changed=KEPT_CHANGED,
        changed_table=CHANGED,
        exposures_table=None if same else "abkit_exposures",
    )
    settled_rows = (
        "SELECT * EXCLUDE (exposed_at, variant, has_events, rewritten)"
        f" FROM {NEXT_ROWS} WHERE has_events"
    )
    fresh_buffer = "SELECT * EXCLUDE (settled) FROM abkit_fresh WHERE NOT settled"
    return (
        f"({run.sql('merge', left=kept_rows, right=f'SELECT * FROM {kept_buffer}')})",
        f"({run.sql('merge', left=settled_rows, right=fresh_buffer)})",
    )


def _updated_moments(
    run: Steps,
    caps: dict[str, Any],
    aggregates: tuple[str, str],
    ends: tuple[dt.datetime, dt.datetime],
) -> pd.DataFrame:
    """The kept moments − the changed units' as kept + theirs now (kept caps).

    `aggregates`, `ends`: the changed units' aggregates and the data end, as
    kept and now.
    """
    change = run.frame(
        run.sql(
            "moments_change",
            old_exposures=KEPT_CHANGED,
            old_aggregates=aggregates[0],
            new_exposures=NEXT_ROWS,
            new_aggregates=aggregates[1],
            caps_table=run.kept("caps"),
            old_end_value=instant(ends[0]),
            data_end_value=instant(ends[1]),
        )
    )
    before = change[change["side"] == "old"]
    after = change[change["side"] == "new"]
    kept_moments = run.frame(f"SELECT * FROM {run.kept('moments')}")
    return updated_moments(kept_moments, before, after, caps, run.context)


def _delta_rows(same_exposures: bool) -> str:
    """The new kept rows of the units whose kept row changed.

    Those with settled events since the cut or a changed exposure, and a
    `removed` row for those no longer analysed; a unit changed only by its
    buffer's events keeps its kept row.
    """
    rows = f"SELECT * EXCLUDE (rewritten), false AS removed FROM {NEXT_ROWS} WHERE rewritten"
    if same_exposures:
        return rows
    return (
        f"{rows} UNION ALL BY NAME SELECT unit_id, true AS removed FROM {CHANGED}"
        f" ANTI JOIN {NEXT_ROWS} USING (unit_id)"
    )


def _exposures(
    run: Steps, experiment: Experiment, meta: dict[str, Any], files: dict[str, Any]
) -> bool:
    """Whether the kept exposures hold (then viewed as KEPT_EXPOSURES).

    Otherwise creates abkit_exposures (the exposures now), abkit_gone (kept units
    not analysed as kept) and abkit_new_units (units exposed, or moved, since).
    """
    units = run.kept("units")
    window_end = str(experiment.end) if experiment.end else None
    same = (
        files["assignments"] is not None
        and files["assignments"] == meta["files"]["assignments"]
    )
    if same and window_end != meta["window_end"]:
        same = window_end is not None and meta["window_end"] is not None
        if same:  # the window grew: any assignment in the new days?
            body = "WITH " + render_template("sources.sql", run.context)
            old = timestamp_literal(dt.date.fromisoformat(meta["window_end"]))
            count = run.scalar(
                f"{body} SELECT COUNT(*) FROM assignments WHERE exposed_at >= {old}"
            )
            same = not count
    if same:  # no copy: the fresh step reads the kept exposures where they are
        run.view(KEPT_EXPOSURES, f"SELECT unit_id, variant, exposed_at FROM {units}")
        return True
    run.create_step("abkit_exposures", "exposures")
    first = run.scalar("SELECT CAST(MIN(exposed_at) AS VARCHAR) FROM abkit_exposures")
    if first != meta["first_exposure"]:
        raise Refused("the experiment's first exposure moved (assignments changed)")
    same_row = "s.unit_id = k.unit_id AND s.variant = k.variant AND s.exposed_at = k.exposed_at"
    run.create(
        "abkit_gone",
        f"SELECT s.unit_id FROM {units} AS s ANTI JOIN abkit_exposures AS k ON {same_row}",
    )
    run.create(
        "abkit_new_units",
        f"SELECT k.unit_id FROM abkit_exposures AS k ANTI JOIN {units} AS s ON {same_row}",
    )
    return False


def _exposure_note(run: Steps) -> str:
    """What changed in the assignments, for the outcome's note."""
    gone, new = "abkit_gone", "abkit_new_units"
    left = run.scalar(f"SELECT COUNT(*) FROM {gone} ANTI JOIN {new} USING (unit_id)")
    moved = run.scalar(f"SELECT COUNT(*) FROM {gone} SEMI JOIN {new} USING (unit_id)")
    added = run.scalar(f"SELECT COUNT(*) FROM {new} ANTI JOIN {gone} USING (unit_id)")
    parts = []
    if added:
        parts.append(f"{added} newly exposed units scanned in full")
    if moved:
        parts.append(f"{moved} units whose first exposure changed rescanned")
    if left:
        parts.append(
            f"{left} units no longer analysed (now seen in a second variant) removed"
        )
    return ", ".join(parts)


def _fresh_events(
    run: Steps, experiment: Experiment, since: dt.date, same_exposures: bool
) -> None:
    """Materialise the events since the cut (and newcomers' history); check values."""
    events = run.context["events"]
    column = events.columns
    recent = f"CAST({column['timestamp']} AS TIMESTAMP) >= {timestamp_literal(since)}"
    if not same_exposures and run.scalar("SELECT COUNT(*) FROM abkit_new_units"):
        recent += f" OR {column['unit_id']} IN (SELECT unit_id FROM abkit_new_units)"
    window_end = run.context.get("window_end")
    if window_end:
        stamp = f"CAST({column['timestamp']} AS TIMESTAMP)"
        recent = f"({recent}) AND {stamp} < {window_end}"
    run.create(FRESH_RAW, f"SELECT * FROM {events.relation} WHERE {recent}")
    run.context = run.context | {"events": _replace(events, relation=FRESH_RAW)}
    data = experiment.data
    fresh_source = data.events.model_copy(update={"path": None, "table": FRESH_RAW})
    refuse_bad_values(
        run.engine,
        experiment.model_copy(
            update={"data": data.model_copy(update={"events": fresh_source})}
        ),
    )


def _replace(events: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(events, **changes)


def _marked_units(
    run: Steps, same_exposures: bool, old_end: dt.datetime, end: dt.datetime
) -> str | None:
    """The changed units without events since the cut or in the kept buffer.

    Those that left or moved, the newly exposed, and those whose windowed metric's
    censoring flips because the data end moved (None: there are none).
    """
    parts = (
        []
        if same_exposures
        else [
            "SELECT unit_id FROM abkit_gone",
            "SELECT unit_id FROM abkit_new_units",
        ]
    )
    end_days = sorted(
        {v["end_day"] for v in run.context["variables"] if v["end_day"] is not None}
    )
    low, high = sorted((old_end, end))
    if end_days and low != high:
        flips = " OR ".join(
            f"(exposed_at + INTERVAL {d} DAY > {instant(low)}"
            f" AND exposed_at + INTERVAL {d} DAY <= {instant(high)})"
            for d in end_days
        )
        parts.append(f"SELECT unit_id FROM {run.kept('units')} WHERE {flips}")
    return " UNION ".join(parts) or None


def _caps_moved(
    run: Steps,
    caps: dict[str, Any],
    exposures: str,
    new_aggregates: str,
    end: dt.datetime,
) -> str | None:
    """The first winsorizing cap that differs now from the kept one, or None."""
    if not run.context["caps"]:
        return None
    run.create(
        "abkit_all_aggregates",
        f"SELECT s.* EXCLUDE (exposed_at, variant, has_events) FROM {run.kept('units')}"
        f" AS s ANTI JOIN {CHANGED} AS c ON s.unit_id = c.unit_id WHERE s.has_events"
        f" UNION ALL BY NAME SELECT * FROM {new_aggregates}",
    )
    run.caps_row("abkit_caps_now", exposures, "abkit_all_aggregates", end)
    now = {
        str(k): v for k, v in run.frame("SELECT * FROM abkit_caps_now").iloc[0].items()
    }
    for cap in run.context["caps"]:
        name = cap["column"]
        if not _same(now[name], caps[name]):
            return str(cap["column"])
    return None


def _same(a: Any, b: Any) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    return bool(a == b)


def _health(
    run: Steps, experiment: Experiment, same: bool, last: dt.datetime | None
) -> str:
    """exposure_health.sql's rows: the kept ones (or anew) with the new last event."""
    table = run.kept("health")
    if not same:
        table = "abkit_health_now"
        run.create(table, render_health_sql(experiment))
    value = instant(last) if last is not None else "CAST(NULL AS TIMESTAMP)"
    run.create(
        "abkit_health_next", f"SELECT * REPLACE ({value} AS last_event) FROM {table}"
    )
    return "abkit_health_next"
