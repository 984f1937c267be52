"""`abkit validate`: each planted problem is flagged, with its count and status."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from abkit.analysis.validation import validate
from tests.hardening.helpers import cli

START = dt.datetime(2026, 3, 2)


def clean_log(directory):
    """60 units, one variant each, events only after exposure: every check passes."""
    directory.mkdir(parents=True, exist_ok=True)
    units = np.arange(1, 61)
    exposed = [START + dt.timedelta(hours=int(u)) for u in units]
    assignments = pd.DataFrame(
        {
            "uid": units,
            "arm": np.where(units % 2, "control", "treatment"),
            "seen_at": exposed,
        }
    )
    events = pd.DataFrame(
        {
            "uid": np.repeat(units, 2),
            "at": [t + dt.timedelta(hours=h) for t in exposed for h in (1, 30)],
            "name": ["message", "purchase"] * len(units),
            "amount": np.tile([1.0, 9.5], len(units)),
        }
    )
    return {"assignments": assignments, "events": events}


def write(directory, tables, **exp_changes):
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if name == "events" and "amount" in frame:
            table = table.set_column(
                table.schema.get_field_index("amount"), "amount",
                pa.array(frame["amount"].to_numpy(), from_pandas=False),
            )  # fmt: skip
        pq.write_table(table, directory / f"{name}.parquet")
    revenue = {"kind": "mean", "events": ["purchase"], "value": "value"}
    metrics = {"metrics": {"messages": {"kind": "mean", "events": ["message"]},
                           "revenue": revenue}}  # fmt: skip
    (directory / "metrics.yaml").write_text(yaml.safe_dump(metrics))
    exp = {
        "name": "planted",
        "data": {
            "assignments": {"path": "assignments.parquet", "unit_id": "uid",
                            "variant": "arm", "timestamp": "seen_at"},
            "events": {"path": "events.parquet", "unit_id": "uid", "timestamp": "at",
                       "event": "name", "value": "amount"},
        },
        "variants": {"control": 0.5, "treatment": 0.5},
        "metrics": ["messages", "revenue"],
    } | exp_changes  # fmt: skip
    (directory / "exp.yaml").write_text(yaml.safe_dump(exp))
    return directory / "exp.yaml"


def statuses(path):
    report = validate(path)
    return report, {c.name: (c.status, c.count) for c in report.checks}


def test_clean_log_passes_every_check(tmp_path):
    report, found = statuses(write(tmp_path, clean_log(tmp_path)))
    assert {s for s, _ in found.values()} == {"pass"}, found
    assert report.exit_code == 0
    assert len(found) == 12


def _planted(tables, problem):
    a, e = tables["assignments"], tables["events"]
    if problem == "unparsable":
        e["at"] = e["at"].astype(str)
        e.loc[:2, "at"] = "not a time"
    elif problem == "bad_type":
        e["amount"] = e["amount"].astype(str)
        e.loc[:3, "amount"] = "lots"
    elif problem == "unknown_variant":
        a.loc[:4, "arm"] = "treatmnt"
    elif problem == "twice":
        extra = a.head(3).assign(
            arm=lambda f: np.where(f["arm"] == "control", "treatment", "control")
        )
        tables["assignments"] = pd.concat([a, extra], ignore_index=True)
    elif problem == "null_ids":
        e["uid"] = e["uid"].astype("Int64")
        e.loc[:5, "uid"] = pd.NA
    elif problem in ("nan", "inf"):
        e.loc[:6, "amount"] = np.nan if problem == "nan" else np.inf
    elif problem == "before_exposure":
        late = a["uid"] == 60
        e.loc[e["uid"] == 60, "at"] = a.loc[late, "seen_at"].iloc[0] - dt.timedelta(
            hours=2
        )
    elif problem == "duplicates":
        tables["events"] = pd.concat([e, e.head(8)], ignore_index=True)
    elif problem == "zones":
        e["at"] = e["at"].dt.tz_localize("UTC")
    elif problem == "future":
        a.loc[:1, "seen_at"] = pd.Timestamp("2999-01-01")
    return tables


@pytest.mark.parametrize(
    ("problem", "check", "status", "count"),
    [
        ("unparsable", "timestamps", "fail", 3),
        ("bad_type", "types", "fail", 4),
        ("unknown_variant", "variants", "warn", 5),
        ("twice", "assigned_twice", "warn", 3),
        ("null_ids", "null_ids", "warn", 6),
        ("nan", "values", "fail", 7),
        ("inf", "values", "fail", 7),
        ("before_exposure", "events_before_exposure", "warn", 2),
        ("duplicates", "duplicate_rows", "warn", 8),
        ("zones", "time_zones", "warn", 1),
        ("future", "window", "warn", 2),
    ],
)
def test_planted_problem_is_flagged(tmp_path, problem, check, status, count):
    tables = _planted(clean_log(tmp_path), problem)
    report, found = statuses(write(tmp_path, tables))
    assert found[check] == (status, count), found
    assert report.exit_code == (1 if status == "fail" else 0)


def test_out_of_window_exposures_are_flagged(tmp_path):
    path = write(tmp_path, clean_log(tmp_path), start=dt.date(2026, 3, 3))
    _, found = statuses(path)
    assert found["window"] == ("warn", 23)  # exposed hours 1..23 of March 2


def test_missing_mapped_column_fails_and_stops(tmp_path):
    tables = clean_log(tmp_path)
    tables["events"] = tables["events"].rename(columns={"amount": "amt"})
    report, found = statuses(write(tmp_path, tables))
    assert found["columns"] == ("fail", 1)
    assert "data.events.value 'amount'" in report.checks[-1].message
    assert report.exit_code == 1


def test_bad_config_is_one_failed_check(tmp_path):
    path = write(tmp_path, clean_log(tmp_path), variants={"control": 0.5, "b": 0.6})
    report, found = statuses(path)
    assert found == {"config": ("fail", 1)}
    assert "shares add up to 1.1" in report.checks[0].message


def test_cli_exit_code_follows_the_worst_check(tmp_path):
    clean = write(tmp_path / "clean", clean_log(tmp_path / "clean"))
    planted = tmp_path / "nan"
    bad = write(planted, _planted(clean_log(planted), "nan"))
    ok = cli("validate", clean, "-f", "json")
    failed = cli("validate", bad)
    assert ok.returncode == 0 and json.loads(ok.stdout)["worst"] == "pass"
    assert failed.returncode == 1 and "7 NaN" in failed.stdout


def test_validate_runs_on_the_demo(demo_exp):
    report = validate(demo_exp)
    assert report.exit_code == 0
    assert {c.name: c.status for c in report.checks}["values"] == "pass"
