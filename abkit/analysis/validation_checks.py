"""The data checks of `abkit validate`, each one aggregate query on the locked engine.

Each returns a `Check`: pass, warn or fail, the count found and plain words that
name the fix. Only counts leave the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from abkit.analysis.queries import bad_value_counts, query_frame
from abkit.config import Experiment, Source
from abkit.engines import Engine
from abkit.sql.render import quote_identifier, quote_literal, relation_sql

Status = Literal["pass", "warn", "fail"]
Types = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Check:
    """One validation check: its name, status, the count it found and plain words."""

    name: str
    status: Status
    count: int
    message: str


def roles(experiment: Experiment) -> dict[str, Source]:
    """The declared sources by table name."""
    data = experiment.data
    found: dict[str, Source] = {"assignments": data.assignments, "events": data.events}
    if data.units is not None:
        found["units"] = data.units
    return found


def data_checks(engine: Engine, experiment: Experiment, types: Types) -> list[Check]:
    """Every data check, given the sources' column types (table -> column -> type)."""
    count = _counter(engine)
    checks = [
        _type_check(count, experiment, types),
        _timestamp_check(count, experiment),
        _zone_check(experiment, types),
        _window_check(count, experiment),
        _variant_check(engine, experiment),
        _twice_check(count, experiment),
        _null_id_check(count, experiment),
        _value_check(engine, experiment),
        _before_exposure_check(count, experiment),
        _duplicate_check(count, experiment),
    ]
    return checks


def _counter(engine: Engine) -> Callable[[str], int]:
    def count(sql: str) -> int:
        frame = query_frame(engine, sql)
        value = pd.to_numeric(frame.iloc[:1, 0]).fillna(0)
        return int(value.iloc[0]) if len(value) else 0

    return count


def _col(source: Source, key: str) -> str:
    return quote_identifier(getattr(source, key))


def _type_check(
    count: Callable[[str], int],
    experiment: Experiment,
    types: Types,
) -> Check:
    events = experiment.data.events
    if not events.value:
        return Check("types", "pass", 0, "no value column is mapped")
    value_type = types["events"][events.value]
    if value_type in _NUMERIC or value_type.startswith("DECIMAL"):
        return Check("types", "pass", 0, f"event values are numeric ({value_type})")
    column = _col(events, "value")
    bad = count(
        f"SELECT count(*) FROM {relation_sql(events)} WHERE {column} IS "
        f"NOT NULL AND TRY_CAST({column} AS DOUBLE) IS NULL"
    )
    if bad:
        return Check(
            "types",
            "fail",
            bad,
            f"{bad:,} event values in '{events.value}' ({value_type}) are "
            "not numbers; store numbers or NULL",
        )
    return Check(
        "types",
        "warn",
        0,
        f"event values in '{events.value}' are {value_type}, read as numbers; store them as DOUBLE",
    )


_NUMERIC = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "BOOLEAN",
}


def _unparsable(count: Callable[[str], int], source: Source) -> int:
    column = _col(source, "timestamp")
    return count(
        f"SELECT count(*) FROM {relation_sql(source)} WHERE {column} IS "
        f"NOT NULL AND TRY_CAST({column} AS TIMESTAMP) IS NULL"
    )


def _timestamp_check(count: Callable[[str], int], experiment: Experiment) -> Check:
    data = experiment.data
    bad = {
        name: _unparsable(count, s)
        for name, s in (("assignments", data.assignments), ("events", data.events))
    }
    total = sum(bad.values())
    if total:
        where = ", ".join(f"{n} {c:,}" for n, c in bad.items() if c)
        return Check(
            "timestamps",
            "fail",
            total,
            f"timestamps that do not parse ({where}); write them as ISO-8601 (YYYY-MM-DD HH:MM:SS)",
        )
    return Check("timestamps", "pass", 0, "every timestamp parses")


def _zone_check(experiment: Experiment, types: Types) -> Check:
    data = experiment.data
    aware = {
        name: "WITH TIME ZONE" in types[name][s.timestamp]
        for name, s in (("assignments", data.assignments), ("events", data.events))
    }
    if len(set(aware.values())) > 1:
        which = ", ".join(
            f"{n} {'tz-aware' if a else 'naive'}" for n, a in aware.items()
        )
        return Check(
            "time_zones",
            "warn",
            1,
            f"timestamps mix zones ({which}); naive ones are read as {experiment.time_zone}, "
            "store all in one zone",
        )
    kind = (
        "tz-aware, converted to " + experiment.time_zone
        if any(aware.values())
        else f"naive, read as {experiment.time_zone}"
    )
    return Check("time_zones", "pass", 0, f"timestamps are consistently {kind}")


def _window_check(count: Callable[[str], int], experiment: Experiment) -> Check:
    source = experiment.data.assignments
    ts = f"TRY_CAST({_col(source, 'timestamp')} AS TIMESTAMP)"
    bounds = []
    if experiment.start:
        bounds.append(f"{ts} < {_day(experiment.start)}")
    if experiment.end:
        bounds.append(f"{ts} >= {_day(experiment.end)}")
    future = dt.date.today() + dt.timedelta(days=1)
    bounds.append(f"{ts} >= {_day(future)}")
    outside = count(
        f"SELECT count(*) FROM {relation_sql(source)} WHERE {' OR '.join(bounds)}"
    )
    if outside:
        return Check(
            "window",
            "warn",
            outside,
            f"{outside:,} exposures fall outside the experiment's window (start/end "
            "in exp.yaml) or in the future; they are not analysed",
        )
    return Check("window", "pass", 0, "every exposure falls in the window")


def _day(day: dt.date) -> str:
    return f"TIMESTAMP {quote_literal(day.isoformat())}"


def _variant_check(engine: Engine, experiment: Experiment) -> Check:
    source = experiment.data.assignments
    found = query_frame(
        engine,
        f"SELECT CAST({_col(source, 'variant')} AS VARCHAR) AS v, count(*) "
        f"AS n FROM {relation_sql(source)} GROUP BY 1",
    )
    seen = {
        str(v): int(n)
        for v, n in zip(found["v"], found["n"], strict=True)
        if v is not None and not pd.isna(v)
    }
    missing = [v for v in experiment.variants if v not in seen]
    if missing:
        return Check(
            "variants",
            "fail",
            len(missing),
            f"configured variants with no rows: {', '.join(missing)}; fix variants: in exp.yaml",
        )
    unknown = {v: n for v, n in seen.items() if v not in experiment.variants}
    if unknown:
        shown = ", ".join(f"'{v}' ({n:,})" for v, n in list(unknown.items())[:5])
        return Check(
            "variants",
            "warn",
            sum(unknown.values()),
            f"rows with variants not in exp.yaml: {shown}; they are not analysed",
        )
    return Check("variants", "pass", 0, "variants in the data match exp.yaml")


def _twice_check(count: Callable[[str], int], experiment: Experiment) -> Check:
    source = experiment.data.assignments
    twice = count(
        f"SELECT count(*) FROM (SELECT {_col(source, 'unit_id')} FROM "
        f"{relation_sql(source)} GROUP BY 1 HAVING count(DISTINCT {_col(source, 'variant')}) "
        "> 1)"
    )
    if twice:
        return Check(
            "assigned_twice",
            "warn",
            twice,
            f"{twice:,} units were assigned to more than one variant; they are excluded",
        )
    return Check("assigned_twice", "pass", 0, "every unit is in one variant")


def _null_id_check(count: Callable[[str], int], experiment: Experiment) -> Check:
    nulls = {
        name: count(
            f"SELECT count(*) FROM {relation_sql(s)} WHERE {_col(s, 'unit_id')} IS NULL"
        )
        for name, s in roles(experiment).items()
    }
    total = sum(nulls.values())
    if total:
        where = ", ".join(f"{n} {c:,}" for n, c in nulls.items() if c)
        return Check(
            "null_ids",
            "warn",
            total,
            f"rows without a unit id ({where}); they are ignored",
        )
    return Check("null_ids", "pass", 0, "every row has a unit id")


def _value_check(engine: Engine, experiment: Experiment) -> Check:
    nan, inf = bad_value_counts(engine, experiment)
    if nan or inf:
        return Check(
            "values",
            "fail",
            nan + inf,
            f"{nan:,} NaN and {inf:,} infinite event values; analysis refuses "
            "them, replace them with NULL or numbers",
        )
    return Check("values", "pass", 0, "event values are finite")


def _before_exposure_check(
    count: Callable[[str], int], experiment: Experiment
) -> Check:
    a, e = experiment.data.assignments, experiment.data.events
    sql = (
        f"WITH first AS (SELECT {_col(a, 'unit_id')} AS u, min(TRY_CAST({_col(a, 'timestamp')} "
        f"AS TIMESTAMP)) AS t FROM {relation_sql(a)} GROUP BY 1), "
        f"began AS (SELECT min(t) AS t FROM first) "
        f"SELECT count(*) FROM {relation_sql(e)} AS ev JOIN first ON ev.{_col(e, 'unit_id')} "
        "= first.u, began "
        f"WHERE TRY_CAST(ev.{_col(e, 'timestamp')} AS TIMESTAMP) < first.t "
        f"AND TRY_CAST(ev.{_col(e, 'timestamp')} AS TIMESTAMP) >= began.t"
    )
    early = count(sql)
    if early:
        return Check(
            "events_before_exposure",
            "warn",
            early,
            f"{early:,} events happened after the experiment began but before "
            "their unit's exposure; they are not counted",
        )
    return Check(
        "events_before_exposure",
        "pass",
        0,
        "no event falls between the start and its unit's exposure",
    )


def _duplicate_check(count: Callable[[str], int], experiment: Experiment) -> Check:
    dupes = {
        name: count(
            "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM "
            f"{relation_sql(s)})) FROM {relation_sql(s)}"
        )
        for name, s in roles(experiment).items()
        if name != "units"
    }
    total = sum(dupes.values())
    if total:
        where = ", ".join(f"{n} {c:,}" for n, c in dupes.items() if c)
        return Check(
            "duplicate_rows",
            "warn",
            total,
            f"identical rows repeated ({where}); each copy counts, deduplicate the data",
        )
    return Check("duplicate_rows", "pass", 0, "no row is repeated")
