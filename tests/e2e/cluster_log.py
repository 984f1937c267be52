"""A hand-made cluster-randomized log with a segment attribute, for the cluster tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.handmade import write_log

START = dt.datetime(2026, 3, 2)
END_DAY = 3
"""The metric's window: events in the first three days after exposure."""
METRICS = {
    "messages": {"kind": "mean", "events": ["message"], "window": {"end_day": END_DAY}},
}


def clustered_log(
    directory: Path, users: int = 1600, cities: int = 30, **exp: Any
) -> Path:
    """Users randomized by city over five days; iOS users message more; a city effect.

    The treatment raises the message rate by 40%. Exposures avoid midnight, so a
    unit's exposure key is the date of its exposure.
    """
    rng = np.random.default_rng(17)
    city = rng.integers(0, cities, users)
    arm = np.where(rng.permutation(cities) % 2 == 0, "control", "treatment")[city]
    ids = np.arange(users)
    hours = rng.integers(0, 5 * 24, users) + 0.5
    exposed = START + pd.to_timedelta(hours, unit="h")
    platform = np.where(rng.random(users) < 0.4, "ios", "android")
    rate = rng.lognormal(0.8, 0.35, cities)[city] * np.where(platform == "ios", 1.5, 1)
    rate = rate * np.where(arm == "treatment", 1.4, 1.0)
    counts = rng.poisson(rate)
    user = np.repeat(ids, counts)
    offset = pd.to_timedelta(rng.uniform(0, END_DAY - 0.1, counts.sum()), unit="D")
    events = pd.DataFrame({"user_id": user, "ts": exposed[user] + offset,
                           "event": "message", "value": 1.0})  # fmt: skip
    late = pd.DataFrame({"user_id": [0], "ts": [START + dt.timedelta(days=12)],
                         "event": ["ping"], "value": [1.0]})  # fmt: skip
    assignments = pd.DataFrame({"user_id": ids, "variant": arm,
                                "exposed_at": exposed, "city": city})  # fmt: skip
    data = {
        "assignments": {"path": "assignments.parquet", "unit_id": "user_id",
                        "timestamp": "exposed_at", "cluster": "city"},
        "events": {"path": "events.parquet", "unit_id": "user_id", "timestamp": "ts"},
        "units": {"path": "units.parquet", "unit_id": "user_id"},
    }  # fmt: skip
    path = write_log(directory, assignments, pd.concat([events, late]), METRICS,
                     {"control": 0.5, "treatment": 0.5}, data=data,
                     segments=["platform"], **exp)  # fmt: skip
    assignments.to_parquet(directory / "assignments.parquet")  # keep the city column
    pd.DataFrame({"user_id": ids, "platform": platform}).to_parquet(
        directory / "units.parquet"
    )
    return path


def unit_rows(path: Path) -> pd.DataFrame:
    """Per-user messages in the window, with arm, city, platform and exposure key."""
    folder = path.parent
    assignments = pd.read_parquet(folder / "assignments.parquet")
    units = pd.read_parquet(folder / "units.parquet")
    events = pd.read_parquet(folder / "events.parquet").merge(assignments, on="user_id")
    inside = (
        (events["event"] == "message")
        & (events["ts"] >= events["exposed_at"])
        & (events["ts"] < events["exposed_at"] + pd.Timedelta(days=END_DAY))
    )
    counts = events[inside].groupby("user_id").size()
    rows = assignments.merge(units, on="user_id").set_index("user_id")
    rows["y"] = counts.reindex(rows.index, fill_value=0).astype(float)
    rows["treat"] = (rows["variant"] == "treatment").astype(float)
    rows["exposure_key"] = rows["exposed_at"].dt.date
    return rows.reset_index()
