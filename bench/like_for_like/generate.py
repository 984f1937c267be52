"""Generate the like-for-like benchmark data: assignments, events and abkit's YAML.

    python -m bench.like_for_like.generate --events 10M [--dir DIR] [--seed 7]

Writes into DIR (default /tmp/abkit-like-for-like/<events>):

- assignments.parquet: unit_id, variant ('control' | 'treatment'), exposed_at; one row
  per unit, units = events / 10, exposures spread over 7 days;
- events.parquet: unit_id, ts, event ('view' | 'click' | 'purchase'), value (revenue
  of a purchase, NULL otherwise); each unit's events fall in the 15 days before and
  the 14 days after its exposure, so the 14-day pre-period is full and one day of
  older events lies outside it (every side must apply its lower bound);
- exp.yaml and metrics.yaml: the five KPIs, each CUPED-adjusted by its own value
  over the 14 days before exposure;
- manifest.json: what was generated (a later call with the same arguments reuses it).

Units have a persistent activity level, click share, purchase share and spend level,
so pre- and post-exposure values correlate and CUPED has something to remove. The
treatment lifts post-exposure activity (+1%), clicks (+3%) and purchases (+5%).

Vectorised numpy, written chunk by chunk (500k units, about 5M events) in row groups
of 1M rows, so 100M events need a few hundred MB of memory. Output depends only on
the seed and the number of events. Within a chunk the events are shuffled: a log is
ordered by time, not by unit, and no side may rely on unit locality.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

START = dt.datetime(2026, 3, 2)
EXPOSURE_DAYS = 7
PRE_PERIOD_DAYS = 14
DRAWN_PRE_DAYS = PRE_PERIOD_DAYS + 1
POST_DAYS = 14
EVENTS_PER_UNIT = 10
CHUNK_UNITS = 500_000
ROW_GROUP_ROWS = 131_072
FORMAT_VERSION = 1
LIFT = {"activity": 1.01, "click": 1.03, "purchase": 1.05}
EVENT_NAMES = ("view", "click", "purchase")
KPIS = ("events", "clicks", "purchases", "revenue", "converted")
DATA_FILES = ("assignments.parquet", "events.parquet", "exp.yaml", "metrics.yaml")
MICROS_PER_DAY = 86_400_000_000
START_US = int((START - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000
_SCRAMBLE = np.uint64(0x9E3779B97F4A7C15)
_ID_MASK = np.uint64((1 << 62) - 1)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ASSIGNMENTS_SCHEMA = pa.schema(
    [
        ("unit_id", pa.int64()),
        ("variant", pa.string()),
        ("exposed_at", pa.timestamp("us")),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("unit_id", pa.int64()),
        ("ts", pa.timestamp("us")),
        ("event", pa.string()),
        ("value", pa.float64()),
    ]
)

METRICS_YAML = """\
# The five KPIs of the like-for-like benchmark. No window: every event from the
# unit's exposure on counts. Each metric is CUPED-adjusted by its own value over the
# experiment's pre-period (the 14 days before exposure).
metrics:
  events:
    description: Events of any kind per unit after exposure
    kind: mean
    events: [view, click, purchase]
    format: count
  clicks:
    description: Clicks per unit after exposure
    kind: mean
    events: [click]
    format: count
  purchases:
    description: Purchases per unit after exposure
    kind: mean
    events: [purchase]
    format: count
  revenue:
    description: Revenue per unit after exposure
    kind: mean
    events: [purchase]
    value: value
    format: currency
  converted:
    description: Share of units that bought anything after exposure
    kind: proportion
    events: [purchase]
    format: percent
"""

EXP_YAML = """\
# The like-for-like benchmark experiment (written by bench/like_for_like/generate.py).
name: like_for_like
title: Like-for-like benchmark
metrics_file: metrics.yaml
data:
  assignments:
    path: assignments.parquet
    unit_id: unit_id
    variant: variant
    timestamp: exposed_at
  events:
    path: events.parquet
    unit_id: unit_id
    timestamp: ts
    event: event
    value: value
variants:
  control: 0.5
  treatment: 0.5
control: control
metrics: [events, clicks, purchases, revenue, converted]
pre_period_days: 14
cuped:
  enabled: true
  method: pooled
"""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a data directory holds."""

    events_requested: int
    units: int
    seed: int
    events_written: int
    format_version: int = FORMAT_VERSION


def parse_count(text: str) -> int:
    """'10M' -> 10_000_000, '20k' -> 20_000, '1500' -> 1500."""
    factors = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    cleaned = text.strip().lower().replace("_", "")
    if cleaned and cleaned[-1] in factors:
        return int(float(cleaned[:-1]) * factors[cleaned[-1]])
    return int(cleaned)


def format_count(count: int) -> str:
    """10_000_000 -> '10M', 20_000 -> '20k' (the inverse of `parse_count`)."""
    for suffix, factor in (("M", 1_000_000), ("k", 1_000)):
        if count >= factor and count % factor == 0:
            return f"{count // factor}{suffix}"
    return str(count)


def scrambled_ids(index: IntArray) -> IntArray:
    """Distinct, non-dense unit ids: an odd multiplier is a bijection mod 2^62."""
    ids: IntArray = ((index.astype(np.uint64) * _SCRAMBLE) & _ID_MASK).astype(np.int64)
    return ids


@dataclass(frozen=True, slots=True)
class Units:
    """A chunk of units: ids, arm, exposure and the traits behind their events."""

    unit_id: IntArray
    treated: BoolArray
    exposed_us: IntArray
    daily_rate: FloatArray
    click_share: FloatArray
    purchase_share: FloatArray
    spend: FloatArray


def unit_chunk(rng: np.random.Generator, first: int, count: int) -> Units:
    """Draw a chunk of units; activity is gamma, so some units have no events."""
    activity = rng.gamma(0.8, EVENTS_PER_UNIT / 0.8, count)
    return Units(
        unit_id=scrambled_ids(np.arange(first, first + count, dtype=np.int64)),
        treated=rng.random(count) < 0.5,
        exposed_us=rng.integers(0, EXPOSURE_DAYS * MICROS_PER_DAY, count),
        daily_rate=activity / (DRAWN_PRE_DAYS + POST_DAYS),
        click_share=rng.beta(2.0, 8.0, count),
        purchase_share=rng.beta(1.0, 30.0, count),
        spend=rng.lognormal(3.0, 0.5, count),
    )


def period_events(rng: np.random.Generator, units: Units, post: bool) -> pa.Table:
    """One period's events of a chunk of units (pre: 15 days before, post: 14 after)."""
    treated = units.treated & post
    days = POST_DAYS if post else DRAWN_PRE_DAYS
    rate = units.daily_rate * days * np.where(treated, LIFT["activity"], 1.0)
    owner = np.repeat(np.arange(units.unit_id.size), rng.poisson(rate))
    offset = rng.integers(0, days * MICROS_PER_DAY, owner.size)
    offset = offset if post else offset - days * MICROS_PER_DAY
    ts = START_US + units.exposed_us[owner] + offset
    lifted = treated[owner]
    purchase = units.purchase_share[owner] * np.where(lifted, LIFT["purchase"], 1.0)
    click = units.click_share[owner] * np.where(lifted, LIFT["click"], 1.0)
    draw = rng.random(owner.size)
    kind = np.where(draw < purchase, 2, np.where(draw < purchase + click, 1, 0))
    price = np.round(units.spend[owner] * rng.lognormal(0.0, 0.3, owner.size), 2)
    return pa.table(
        {
            "unit_id": pa.array(units.unit_id[owner], pa.int64()),
            "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("us")),
            "event": pa.DictionaryArray.from_arrays(
                pa.array(kind.astype(np.int8)), pa.array(EVENT_NAMES)
            ).cast(pa.string()),
            "value": pa.array(price, pa.float64(), mask=kind != 2),
        },
        schema=EVENTS_SCHEMA,
    )


def assignments_table(units: Units) -> pa.Table:
    """The chunk's assignment rows."""
    variant = np.where(units.treated, "treatment", "control")
    exposed = START_US + units.exposed_us
    return pa.table(
        {
            "unit_id": pa.array(units.unit_id, pa.int64()),
            "variant": pa.array(variant, pa.string()),
            "exposed_at": pa.array(exposed, pa.int64()).cast(pa.timestamp("us")),
        },
        schema=ASSIGNMENTS_SCHEMA,
    )


def chunk_tables(
    seed: int, index: int, first: int, count: int
) -> tuple[pa.Table, pa.Table]:
    """Assignments and shuffled events of one chunk of units (its own seeded stream)."""
    rng = np.random.default_rng([seed, index])
    units = unit_chunk(rng, first, count)
    events = pa.concat_tables(
        [period_events(rng, units, post) for post in (False, True)]
    )
    events = events.take(pa.array(rng.permutation(events.num_rows)))
    return assignments_table(units), events


def write_data(directory: Path, n_events: int, seed: int) -> Manifest:
    """Write assignments.parquet, events.parquet, the YAML and manifest.json."""
    directory.mkdir(parents=True, exist_ok=True)
    n_units = max(n_events // EVENTS_PER_UNIT, 2)
    written = 0
    with (
        pq.ParquetWriter(
            directory / "assignments.parquet", ASSIGNMENTS_SCHEMA
        ) as units,
        pq.ParquetWriter(directory / "events.parquet", EVENTS_SCHEMA) as events,
    ):
        for index, first in enumerate(range(0, n_units, CHUNK_UNITS)):
            count = min(CHUNK_UNITS, n_units - first)
            assignments, chunk_events = chunk_tables(seed, index, first, count)
            units.write_table(assignments, row_group_size=ROW_GROUP_ROWS)
            events.write_table(chunk_events, row_group_size=ROW_GROUP_ROWS)
            written += chunk_events.num_rows
    (directory / "metrics.yaml").write_text(METRICS_YAML, encoding="utf-8")
    (directory / "exp.yaml").write_text(EXP_YAML, encoding="utf-8")
    manifest = Manifest(n_events, n_units, seed, written)
    (directory / "manifest.json").write_text(json.dumps(asdict(manifest)) + "\n")
    return manifest


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of a data directory, or None if there is none."""
    path = directory / "manifest.json"
    if not path.is_file():
        return None
    return Manifest(**json.loads(path.read_text()))


def ensure_data(
    directory: Path, n_events: int, seed: int = 7
) -> tuple[Manifest, float]:
    """Generate unless the directory already holds this data; seconds spent (0 if kept)."""
    found = read_manifest(directory)
    if (
        found is not None
        and (found.events_requested, found.seed, found.format_version)
        == (n_events, seed, FORMAT_VERSION)
        and all((directory / name).is_file() for name in DATA_FILES)
    ):
        return found, 0.0
    started = time.perf_counter()
    manifest = write_data(directory, n_events, seed)
    return manifest, time.perf_counter() - started


def data_bytes(directory: Path) -> int:
    """Bytes of the two Parquet files."""
    return sum(
        (directory / f"{name}.parquet").stat().st_size
        for name in ("assignments", "events")
    )


def default_dir(n_events: int) -> Path:
    """Where a scale's data lives unless --dir says otherwise."""
    return Path("/tmp/abkit-like-for-like") / format_count(n_events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M", help="e.g. 1M, 10M, 100M")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n_events = parse_count(args.events)
    directory = args.dir or default_dir(n_events)
    manifest, seconds = ensure_data(directory, n_events, args.seed)
    size = data_bytes(directory) / 2**20
    verb = f"generated in {seconds:.1f} s" if seconds else "already there"
    print(
        f"{directory}: {manifest.events_written:,} events, {manifest.units:,} units, "
        f"{size:.0f} MiB of Parquet, {verb}"
    )


if __name__ == "__main__":
    main()
