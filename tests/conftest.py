"""Shared fixtures: a tiny hand-made experiment and the seeded demo event log."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, settings

# Hypothesis: `ci` (the default, and whenever CI is set) derives every example from
# the test itself, so the suite is deterministic; `explore` draws fresh random
# examples, ten times as many, for hunting bugs locally:
#   HYPOTHESIS_PROFILE=explore python3 -m pytest tests/stats
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=(HealthCheck.too_slow,),
)  # fmt: skip
settings.register_profile(
    "explore", derandomize=False, deadline=None, max_examples=1000, print_blob=True
)
settings.load_profile(
    "ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "ci")
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "data" / "examples"
START = dt.datetime(2026, 3, 2)

TINY_METRICS = {
    "metrics": {
        "messages": {"kind": "mean", "events": ["message"], "window": {"end_day": 7}},
        "revenue": {
            "kind": "mean",
            "events": ["purchase"],
            "value": "value",
            "window": {"end_day": 7},
            "format": "currency",
        },
        "payer": {
            "kind": "proportion",
            "events": ["purchase"],
            "window": {"end_day": 7},
            "format": "percent",
        },
    }
}


def tiny_tables(seed: int = 1, n_units: int = 600) -> dict[str, pd.DataFrame]:
    """A small event log: pre-exposure, late and in-window events."""
    rng = np.random.default_rng(seed)
    user = np.arange(1, n_units + 1)
    variant = np.where(rng.random(n_units) < 0.5, "control", "treatment")
    exposed = START + pd.to_timedelta(rng.integers(0, 5 * 24 * 60, n_units), unit="min")
    assignments = pd.DataFrame({"uid": user, "arm": variant, "seen_at": exposed})
    # unit 1 also in the other arm (excluded); unit 2 re-exposed later
    other = "treatment" if variant[0] == "control" else "control"
    assignments = pd.concat(
        [
            assignments,
            pd.DataFrame(
                {
                    "uid": [1, 2],
                    "arm": [other, variant[1]],
                    "seen_at": [exposed[0], exposed[1] + pd.Timedelta(days=3)],
                }
            ),
        ],
        ignore_index=True,
    )
    rows = []
    for i in range(n_units):
        n_events = rng.poisson(6)
        offsets = rng.uniform(
            -5, 12, n_events
        )  # days from exposure; some before, some late
        names = rng.choice(["message", "purchase", "like"], n_events, p=[0.6, 0.1, 0.3])
        values = np.where(names == "purchase", rng.lognormal(2, 1, n_events), 1.0)
        for offset, name, value in zip(offsets, names, values, strict=True):
            rows.append(
                (user[i], exposed[i] + pd.Timedelta(days=float(offset)), name, value)
            )
    events = pd.DataFrame(rows, columns=["uid", "at", "name", "amount"])
    units = pd.DataFrame(
        {"uid": user, "platform": rng.choice(["ios", "android"], n_units)}
    )
    return {"assignments": assignments, "events": events, "units": units}


def tiny_exp_dict() -> dict[str, object]:
    return {
        "name": "tiny",
        "data": {
            "assignments": {
                "path": "assignments.parquet",
                "unit_id": "uid",
                "variant": "arm",
                "timestamp": "seen_at",
            },
            "events": {
                "path": "events.parquet",
                "unit_id": "uid",
                "timestamp": "at",
                "event": "name",
                "value": "amount",
            },
            "units": {"path": "units.parquet", "unit_id": "uid"},
        },
        "variants": {"control": 0.5, "treatment": 0.5},
        "metrics": ["messages", "revenue", "payer"],
    }


def write_tiny(directory: Path, exp: dict[str, object] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tiny_tables().items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    (directory / "metrics.yaml").write_text(yaml.safe_dump(TINY_METRICS))
    (directory / "exp.yaml").write_text(yaml.safe_dump(exp or tiny_exp_dict()))
    return directory / "exp.yaml"


@pytest.fixture
def tiny_exp(tmp_path: Path) -> Path:
    """Path of a tiny exp.yaml with its data beside it."""
    return write_tiny(tmp_path / "tiny")


@pytest.fixture(scope="session")
def demo_exp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example exp.yaml over the default seeded demo log (40,000 members)."""
    from abkit.demo.generator import DemoSpec, generate_demo

    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "demo", DemoSpec())
    shutil.copytree(EXAMPLES, root / "examples")
    return root / "examples" / "exp.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/sql/fixtures/<dialect>/*.sql from the current templates",
    )
