"""A cluster-randomized log with quantile metrics, for the engine comparisons.

The cluster tests' log (users randomized by city, a platform segment, a GST plan)
plus three quantile metrics over message latencies: the unit-level p50 by the outer
CI and by Price–Bonett, and the event-level p90 clustered by user. Every query kind
the newer methods add (cluster moments with their daily increments, quantile
bounds) then runs on each engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tests.e2e.cluster_log import END_DAY, clustered_log

QUANTILE_METRICS = {
    "latency_p50": {"kind": "quantile", "events": ["message"], "value": "value",
                    "quantile": 0.5, "window": {"end_day": END_DAY}},
    "latency_median_pb": {"kind": "quantile", "events": ["message"], "value": "value",
                          "quantile": 0.5, "interval": "price_bonett",
                          "window": {"end_day": END_DAY}},
    "latency_p90_events": {"kind": "quantile", "events": ["message"], "value": "value",
                           "quantile": 0.9, "level": "event",
                           "window": {"end_day": END_DAY}},
}  # fmt: skip


def methods_log(directory: Path) -> Path:
    """Write the log (microsecond timestamps, as Spark reads); return its exp.yaml."""
    path = clustered_log(directory, sequential={"method": "gst", "planned_units": 1600})
    events = pd.read_parquet(directory / "events.parquet")
    rng = np.random.default_rng(23)
    events["value"] = rng.lognormal(1.0, 0.8, len(events)).round(3)
    events["ts"] = events["ts"].dt.floor("us")
    events.to_parquet(directory / "events.parquet", coerce_timestamps="us")
    assignments = pd.read_parquet(directory / "assignments.parquet")  # Spark: no ns
    assignments.to_parquet(directory / "assignments.parquet", coerce_timestamps="us")
    metrics = yaml.safe_load((directory / "metrics.yaml").read_text())
    metrics["metrics"].update(QUANTILE_METRICS)
    (directory / "metrics.yaml").write_text(yaml.safe_dump(metrics))
    spec = yaml.safe_load(path.read_text())
    spec["metrics"] = [*spec["metrics"], *QUANTILE_METRICS]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
