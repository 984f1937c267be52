"""Hand-made experiment logs for tests: tiny Parquet files and an exp.yaml beside them.

`write_log` writes ``assignments.parquet`` (user_id, variant, exposed_at),
``events.parquet`` (user_id, ts, event, value), ``metrics.yaml`` and ``exp.yaml`` into
one directory, so a test states only its rows, metrics and variants and then runs
``abkit.analyze`` on the returned path. CUPED is off unless a test turns it on: the
cases check raw values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ASSIGNMENT_COLUMNS = ["user_id", "variant", "exposed_at"]
EVENT_COLUMNS = ["user_id", "ts", "event", "value"]


def write_log(
    directory: Path,
    assignments: Iterable[Any] | pd.DataFrame,
    events: Iterable[Any] | pd.DataFrame,
    metrics: Mapping[str, Any],
    variants: Mapping[str, float],
    *,
    name: str = "case",
    **exp: Any,
) -> Path:
    """Write a hand-made log and its experiment; return the exp.yaml path.

    Args:
        directory: where to write (created if missing).
        assignments: rows (user_id, variant, exposed_at), or a DataFrame with those
            columns (others are dropped).
        events: rows (user_id, ts, event, value), or a DataFrame with those columns.
        metrics: metric name → definition, written to metrics.yaml; the experiment
            uses all of them, in this order.
        variants: variant → share, for exp.yaml.
        name: the experiment's name.
        **exp: further exp.yaml sections (e.g. ``decision``), added after the others
            and replacing them when the key is the same.

    Returns:
        The path of the written exp.yaml.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(assignments, columns=ASSIGNMENT_COLUMNS).to_parquet(
        directory / "assignments.parquet"
    )
    pd.DataFrame(events, columns=EVENT_COLUMNS).to_parquet(directory / "events.parquet")
    (directory / "metrics.yaml").write_text(yaml.safe_dump({"metrics": dict(metrics)}))
    spec = {
        "name": name,
        "data": {
            "assignments": {"path": "assignments.parquet", "unit_id": "user_id",
                            "timestamp": "exposed_at"},
            "events": {"path": "events.parquet", "unit_id": "user_id", "timestamp": "ts"},
        },
        "variants": dict(variants),
        "metrics": list(metrics),
        "cuped": {"enabled": False},
    } | exp  # fmt: skip
    (directory / "exp.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory / "exp.yaml"
