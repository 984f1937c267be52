"""Defects 5 and 7 of the hardening issue: silent wrong numbers, a read-only store."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import abkit
from abkit.config import load_experiment
from abkit.errors import ConfigError, DataError, StoreError
from abkit.store.store import ResultStore
from tests.hardening.helpers import cli, tiny_case


def _utc_log(exp, directory):
    for name in ("assignments", "events"):
        frame = pd.read_parquet(directory / f"{name}.parquet")
        column = "seen_at" if name == "assignments" else "at"
        frame[column] = frame[column].dt.tz_localize("UTC")
        frame.to_parquet(directory / f"{name}.parquet")


def _revenue_mean(result) -> float:
    payload = json.loads(result.stdout)
    row = next(m for m in payload["metrics"] if m["metric"] == "revenue")
    return float(row["control_mean"])


def test_tz_aware_log_gives_the_same_numbers_whatever_the_machine_zone(tmp_path):
    path = tiny_case(tmp_path, _utc_log)
    utc = cli("analyze", path, "-f", "json", env={"TZ": "UTC"})
    pacific = cli("analyze", path, "-f", "json", env={"TZ": "America/Los_Angeles"})
    assert utc.returncode == 0 and pacific.returncode == 0, pacific.stderr[-500:]
    assert _revenue_mean(pacific) == pytest.approx(_revenue_mean(utc), rel=1e-12)
    naive = abkit.analyze(tiny_case(tmp_path / "naive"))
    assert _revenue_mean(utc) == pytest.approx(
        naive.metric("revenue").effect.control.mean
    )


def test_unknown_time_zone_is_a_config_error(tmp_path):
    def zone(exp, _):
        exp["time_zone"] = "Mars/Olympus"

    with pytest.raises(ConfigError, match="time zone 'Mars/Olympus' is not known"):
        load_experiment(tiny_case(tmp_path, zone))


@pytest.mark.parametrize(
    ("value", "words"),
    [(np.nan, "40 NaN"), (np.inf, "40 infinite"), (-np.inf, "40 infinite")],
)
def test_nan_and_infinite_values_are_refused_with_their_count(tmp_path, value, words):
    def poison(exp, directory):
        events = pd.read_parquet(directory / "events.parquet")
        rows = events.index[events["name"] == "purchase"][:40]
        amounts = events["amount"].to_numpy(copy=True)
        amounts[rows] = value
        table = pa.Table.from_pandas(
            events.drop(columns="amount"), preserve_index=False
        )
        table = table.append_column("amount", pa.array(amounts, from_pandas=False))
        pq.write_table(table, directory / "events.parquet")

    with pytest.raises(DataError, match=words):
        abkit.analyze(tiny_case(tmp_path, poison))


@pytest.mark.parametrize(
    ("mutation", "words"),
    [
        (
            {"metrics": ["messages", "revenue", "messages"]},
            "'messages' is listed twice",
        ),
        (
            {"cuped": {"covariates": ["messages", "messages"]}},
            "'messages' is listed twice",
        ),
        ({"variants": {"control": 0.5, "treatment": 0.6}}, "shares add up to 1.1"),
    ],
)
def test_repeats_and_bad_shares_are_refused(tmp_path, mutation, words):
    def apply(exp, _):
        exp.update(mutation)

    with pytest.raises(ConfigError, match=words):
        load_experiment(tiny_case(tmp_path, apply))


def test_duplicate_yaml_keys_are_refused(tmp_path):
    path = tiny_case(tmp_path)
    path.write_text(path.read_text() + "alpha: 0.05\nalpha: 0.1\n")
    with pytest.raises(ConfigError, match="key 'alpha' is given twice"):
        load_experiment(path)


def _saved_store(tmp_path):
    path = tiny_case(tmp_path)
    with ResultStore(tmp_path / "abkit.db") as store:
        store.add_note("tiny", "looks fine", author="ana")
    return path


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_history_and_report_work_on_a_read_only_folder(tmp_path):
    path = _saved_store(tmp_path)
    os.chmod(tmp_path / "abkit.db", 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        assert cli("history", path).returncode == 0
        report = cli("report", path, "-f", "markdown")
        assert report.returncode == 0 and "looks fine" in report.stdout
    finally:
        os.chmod(tmp_path, 0o755)


def test_store_opens_read_only_when_it_cannot_be_written(tmp_path, monkeypatch):
    _saved_store(tmp_path)
    before = (tmp_path / "abkit.db").read_bytes()
    monkeypatch.setattr("abkit.store.database.os.access", lambda *_a, **_k: False)
    with ResultStore(tmp_path / "abkit.db") as store:
        assert store.read_only
        assert [n.text for n in store.notes("tiny")] == ["looks fine"]
        with pytest.raises(StoreError, match="read-only"):
            store.add_note("tiny", "more", author="ana")
    assert (tmp_path / "abkit.db").read_bytes() == before
    with ResultStore(tmp_path / "missing.db") as empty:
        assert empty.notes("tiny") == []
    assert not (tmp_path / "missing.db").exists()
