"""Realistic demo event log of a dating / social-discovery app, with known true lifts.

`generate_demo` writes four files into a directory:

- ``units.parquet``: one row per user (platform, country, gender, age bucket, ...).
- ``assignments.parquet``: exposure log (user, variant, exposed_at), with the logging
  faults real logs have: ~0.3 % of exposed users logged a second time in another
  variant (to be excluded), ~2 % re-exposed later in the same variant (first counts),
  and optionally a sample-ratio mismatch (`srm`) that drops rows of the last variant.
- ``events.parquet``: session, swipe, like, match, message, purchase, report, block.
  ``value`` is the session length in minutes for ``session``, the amount in USD for
  ``purchase`` and 1.0 otherwise; ``partner_id`` is set for like, match, message,
  report and block (partners come from the whole population, so interactions cross
  arms). A like is logged with its swipe, and a match with its like, at the same
  instant; rows are sorted by user and time.
- ``manifest.json``: the spec, the true relative lift of every KPI per treatment
  variant, the date ranges (``end`` exclusive) and row counts. Written last, through
  a temporary name, so a half-written directory never looks complete.

Behaviour: each user has a lognormal activity level that drifts slowly, may churn,
and follows a weekday pattern; sessions per day are Poisson, swipes per session
negative binomial, a swipe is a like with the user's Beta propensity, a like is a
match with the *partner's* like-back probability, and matches lead to a negative
binomial number of messages. A 28-day pre-period precedes the experiment, so
pre-exposure activity predicts post-exposure activity (CUPED has something to use).
A user is exposed at the first arrival of an activity-driven trigger in the exposure
window (active users early, dormant users never).

True effects are multipliers on the rates of events at or after the exposure, so the
lifts in the manifest are ratios of expected per-user values by construction. They
are exact except for the few events that straddle the exposure instant (the
messages of a match made just before it, the swipes of a session under way), well
under 0.01 % of the post-exposure events.

Generation is vectorized with numpy in fixed chunks of users, each chunk seeded from
the master seed (``SeedSequence.spawn``), so the output depends on the spec only.

The work is split over this package: `abkit.demo.spec` (the spec, its checks, the
true lifts, the calibration), `abkit.demo.population` (users, traits, exposures),
`abkit.demo.events` (the event funnel) and `abkit.demo.tables` (Arrow tables and
files); this module runs the chunks and writes the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from abkit.demo.events import Chunk, draw_events
from abkit.demo.population import (
    Population,
    Timeline,
    Traits,
    Units,
    assignment_rows,
    daily_rates,
    draw_exposures,
)
from abkit.demo.spec import (
    DEFAULT_SPEC,
    EVENTS,
    KPIS,
    TABLES,
    DemoSpec,
    Effects,
    IntArray,
    spec_to_dict,
    true_lifts,
    validate_spec,
)
from abkit.demo.tables import (
    TableWriters,
    assignments_table,
    events_table,
    units_table,
    write_json_atomically,
)

__all__ = [
    "DEFAULT_SPEC",
    "EVENTS",
    "GENERATOR_VERSION",
    "KPIS",
    "MANIFEST",
    "TABLES",
    "DemoSpec",
    "demo_is_current",
    "generate_demo",
    "spec_to_dict",
    "true_lifts",
    "validate_spec",
]

GENERATOR_VERSION = 1
MANIFEST = "manifest.json"
_CHUNK_USERS = 50_000  # fixed: the output depends on it through the per-chunk seeds


def _generate_chunk(
    rng: np.random.Generator,
    index: IntArray,
    spec: DemoSpec,
    population: Population,
) -> tuple[dict[str, pa.Table], IntArray]:
    """The three tables for users `index` (global positions), and event counts."""
    timeline = Timeline.from_spec(spec)
    units = Units.draw(rng, index, population, timeline)
    traits = Traits.draw(rng, units, timeline.n_days)
    rates = daily_rates(rng, units, traits, timeline)
    split = np.asarray(spec.split) / sum(spec.split)
    arm = rng.choice(len(spec.variants), index.size, p=split)
    exposure = draw_exposures(rng, rates, timeline)
    rows = assignment_rows(rng, arm, exposure, spec, timeline)
    chunk = Chunk(units, traits, arm, exposure, Effects.from_spec(spec))
    blocks = draw_events(rng, chunk, rates, timeline, population)
    events, event_counts = events_table(blocks, units, timeline)
    tables = {
        "units": units_table(units, timeline),
        "assignments": assignments_table(rows, units, spec.variants),
        "events": events,
    }
    return tables, event_counts


def _manifest(
    spec: DemoSpec, row_counts: Mapping[str, int], event_counts: Mapping[str, int]
) -> dict[str, Any]:
    return {
        "generator": "abkit.demo.generator",
        "generator_version": GENERATOR_VERSION,
        "spec": spec_to_dict(spec),
        "true_lifts": true_lifts(spec),
        "dates": Timeline.from_spec(spec).date_ranges(),
        "files": {name: f"{name}.parquet" for name in TABLES},
        "row_counts": dict(row_counts),
        "event_counts": dict(event_counts),
        "notes": {
            "dates": "start inclusive, end exclusive; timestamps are naive UTC",
            "value": "session: minutes; purchase: USD amount; other events: 1.0",
            "partner_id": "set for like, match, message, report and block",
            "true_lifts": "ratio of expected per-user values after exposure, minus 1",
            "kpis": "sessions, swipes, likes, matches, messages, purchases: event "
            "counts; revenue: sum of purchase value",
        },
    }


def generate_demo(
    out_dir: Path,
    spec: DemoSpec = DEFAULT_SPEC,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the demo event log (three Parquet files and manifest.json) to `out_dir`.

    Args:
        out_dir: directory to write into (created if missing; files overwritten).
        spec: what to generate.
        progress: called with (users done, users total) after every chunk.

    Returns:
        The manifest, as written to ``manifest.json``.

    Raises:
        ConfigError: when the spec is invalid.
    """
    validate_spec(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # incomplete until written again
    starts = range(0, spec.n_users, _CHUNK_USERS)
    seeds = np.random.SeedSequence(spec.seed).spawn(1 + len(starts))
    population = Population.draw(np.random.default_rng(seeds[0]), spec.n_users)
    event_counts = np.zeros(len(EVENTS), np.int64)
    writers = TableWriters(out_dir)
    try:
        for seed, first in zip(seeds[1:], starts, strict=True):
            index = np.arange(first, min(first + _CHUNK_USERS, spec.n_users))
            rng = np.random.default_rng(seed)
            tables, chunk_counts = _generate_chunk(rng, index, spec, population)
            writers.write(tables)
            event_counts += chunk_counts
            if progress is not None:
                progress(int(index[-1]) + 1, spec.n_users)
    except BaseException:
        writers.abort()
        raise
    writers.commit()
    counts = dict(zip(EVENTS, event_counts.tolist(), strict=True))
    manifest = _manifest(spec, writers.row_counts, counts)
    write_json_atomically(out_dir / MANIFEST, manifest)
    return manifest


def demo_is_current(out_dir: Path, spec: DemoSpec) -> bool:
    """True when `out_dir` holds a complete demo generated with exactly this spec.

    Args:
        out_dir: a directory written by `generate_demo`.
        spec: the spec the caller wants.

    Returns:
        Whether the manifest matches the spec and this generator version, and every
        Parquet file is present with the row count the manifest records.
    """
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("generator_version") != GENERATOR_VERSION:
            return False
        if manifest.get("spec") != spec_to_dict(spec):
            return False
        return all(
            pq.ParquetFile(out_dir / f"{name}.parquet").metadata.num_rows
            == manifest["row_counts"][name]
            for name in TABLES
        )
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        pa.ArrowException,
    ):
        return False
