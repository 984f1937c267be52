"""Fuzzing configs and data: a one-line AbkitError or a result with a status, always.

Fixed seed (`derandomize=True`): the same cases run on every machine and in CI.
`test_config_fuzz` runs 300 configs through the loader; `test_data_fuzz` runs 40
damaged event logs and configs through the whole analysis.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abkit
from abkit.config import load_experiment
from abkit.errors import AbkitError
from tests.conftest import TINY_METRICS, tiny_exp_dict, tiny_tables

NASTY_TEXT = st.sampled_from(
    ["", "[/x]", ":x:", "[bold]", "a" * 5000, "read_csv('/etc/passwd')", "x'; DROP",
     "../../etc/passwd", "https://example.invalid/a.parquet", "\x00", "é✓", "{{ 7*7 }}",
     "control", "treatment", "messages", "2026-02-30", "nan", "-1", "1e400"]
)  # fmt: skip
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 0.5, 1e-300, 1e308, 10**400]),
)
VALUES = st.one_of(NASTY_TEXT, NUMBERS, st.booleans(), st.none(),
                   st.lists(NASTY_TEXT, max_size=4), st.dates())  # fmt: skip
PATHS = [("name",), ("title",), ("variants",), ("control",), ("start",), ("end",),
         ("metrics",), ("segments",), ("alpha",), ("pre_period_days",),
         ("time_zone",), ("bayesian", "prior_std"), ("sequential", "planned_units"),
         ("cuped", "covariates"), ("decision", "primary"),
         ("data", "units", "table"), ("data", "units", "path"),
         ("data", "events", "value"), ("data", "assignments", "timestamp"),
         ("data", "events", "path")]  # fmt: skip


def _set(exp: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    node = exp
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {"method": "gst"} if key == "sequential" else {}
        node = child
    if path == ("data", "units", "table"):
        node.pop("path", None)
    node[path[-1]] = value


def _check_outcome(run) -> str:
    try:
        result = run()
    except AbkitError as error:
        message = str(error)
        assert "\n" not in message and len(message) <= 600, message[:700]
        return "error"
    status = getattr(result, "srm", None)
    assert status is None or isinstance(status.status, str)
    return "result"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    for name, frame in tiny_tables(n_units=200).items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    (directory / "metrics.yaml").write_text(yaml.safe_dump(TINY_METRICS))
    return directory


OUTCOMES: dict[str, int] = {}


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    changes=st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3)
)
def test_config_fuzz(tiny_dir, changes):
    exp = tiny_exp_dict()
    for path, value in changes:
        _set(exp, path, value)
    target = tiny_dir / "exp.yaml"
    try:
        text = yaml.safe_dump(exp, allow_unicode=True)
    except (yaml.YAMLError, OverflowError):
        return
    target.write_text(text, encoding="utf-8")
    outcome = _check_outcome(lambda: load_experiment(target))
    OUTCOMES[f"config {outcome}"] = OUTCOMES.get(f"config {outcome}", 0) + 1


DAMAGE = st.sampled_from(
    ["none", "nan_values", "inf_values", "unknown_variant", "string_times",
     "null_ids", "duplicates", "tz_aware", "empty_events", "huge_values", "one_arm"]
)  # fmt: skip


def _damage(tables: dict[str, pd.DataFrame], damage: str, rng: np.random.Generator):
    a, e = tables["assignments"], tables["events"]
    rows = rng.choice(len(e), size=max(len(e) // 10, 1), replace=False)
    if damage in ("nan_values", "inf_values", "huge_values"):
        values = e["amount"].to_numpy(copy=True)
        values[rows] = {"nan_values": math.nan, "inf_values": -math.inf,
                        "huge_values": 1e300}[damage]  # fmt: skip
        e["amount"] = values
    elif damage == "unknown_variant":
        a.loc[a.index[:20], "arm"] = "[/x] :x:"
    elif damage == "string_times":
        e["at"] = e["at"].astype(str)
        e.loc[e.index[rows], "at"] = "yesterday"
    elif damage == "null_ids":
        e["uid"] = e["uid"].astype("Int64")
        e.loc[e.index[rows], "uid"] = pd.NA
    elif damage == "duplicates":
        tables["events"] = pd.concat([e, e.iloc[rows]], ignore_index=True)
    elif damage == "tz_aware":
        e["at"] = e["at"].dt.tz_localize("Asia/Tokyo")
    elif damage == "empty_events":
        tables["events"] = e.iloc[:0]
    elif damage == "one_arm":
        a["arm"] = "control"
    return tables


def _write(directory: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if "amount" in frame and frame["amount"].dtype.kind == "f":
            index = table.schema.get_field_index("amount")
            raw = pa.array(frame["amount"].to_numpy(), from_pandas=False)
            table = table.set_column(index, "amount", raw)
        pq.write_table(table, directory / f"{name}.parquet")


@settings(max_examples=40, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(damage=DAMAGE, seed=st.integers(0, 10**6),
       change=st.one_of(st.none(), st.tuples(st.sampled_from(PATHS[:12]), VALUES)))  # fmt: skip
def test_data_fuzz(tiny_dir, damage, seed, change):
    base = {k: v.copy() for k, v in _cached_tables().items()}
    _write(tiny_dir, _damage(base, damage, np.random.default_rng(seed)))
    exp = copy.deepcopy(tiny_exp_dict())
    if change is not None:
        _set(exp, *change)
    target = tiny_dir / "exp.yaml"
    try:
        target.write_text(yaml.safe_dump(exp, allow_unicode=True), encoding="utf-8")
    except (yaml.YAMLError, OverflowError):
        return
    outcome = _check_outcome(lambda: abkit.analyze(target))
    OUTCOMES[f"data {outcome}"] = OUTCOMES.get(f"data {outcome}", 0) + 1


_TABLES: dict[str, pd.DataFrame] = {}


def _cached_tables() -> dict[str, pd.DataFrame]:
    if not _TABLES:
        _TABLES.update(tiny_tables(n_units=200))
    return _TABLES


def test_fuzz_outcomes_reported(capsys):
    """Print how many fuzz cases ended in an error line and how many in a result."""
    with capsys.disabled():
        print(f"\nfuzz outcomes: {dict(sorted(OUTCOMES.items()))}")
