"""Arrow tables of one chunk of users, and the Parquet and JSON files they go to.

The tables are built from integer codes in Arrow (no Python object per row). Files
are written under temporary names and moved into place only when complete.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from abkit.demo.events import Events
from abkit.demo.population import Timeline, Units
from abkit.demo.spec import (
    AGES,
    COUNTRIES,
    DAY_US,
    EVENTS,
    GENDERS,
    PLATFORMS,
    TABLES,
    IntArray,
)

UNITS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("signup_date", pa.date32()),
        ("platform", pa.string()),
        ("country", pa.string()),
        ("gender", pa.string()),
        ("age_bucket", pa.string()),
        ("prior_payer", pa.bool_()),
    ]
)
ASSIGNMENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("variant", pa.string()),
        ("exposed_at", pa.timestamp("us")),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("ts", pa.timestamp("us")),
        ("event", pa.string()),
        ("value", pa.float64()),
        ("partner_id", pa.int64()),
    ]
)


def _labels(codes: npt.NDArray[Any], labels: tuple[str, ...]) -> pa.Array:
    """String column from integer codes, built in Arrow (no Python strings per row)."""
    indices = pa.array(codes.astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels)).cast(pa.string())


def _timestamps(us: IntArray) -> pa.Array:
    return pa.array(us.view("datetime64[us]"), type=pa.timestamp("us"))


def units_table(units: Units, timeline: Timeline) -> pa.Table:
    """The units table of one chunk (user_id is the global index + 1)."""
    first_day = (timeline.first_day - datetime.date(1970, 1, 1)).days
    signup = (first_day + units.signup_day).astype("datetime64[D]")
    columns = [
        pa.array(units.index + 1),
        pa.array(signup, type=pa.date32()),
        _labels(units.platform, PLATFORMS[0]),
        _labels(units.country, COUNTRIES[0]),
        _labels(units.gender, GENDERS[0]),
        _labels(units.age, AGES[0]),
        pa.array(units.prior_payer),
    ]
    return pa.Table.from_arrays(columns, schema=UNITS_SCHEMA)


def assignments_table(
    rows: tuple[IntArray, IntArray, IntArray], units: Units, variants: tuple[str, ...]
) -> pa.Table:
    """The assignments table of one chunk from (user, arm, µs) rows, by user and time."""
    user, arm, ts = rows
    order = np.lexsort((ts, user))
    columns = [
        pa.array(units.index[user[order]] + 1),
        _labels(arm[order], variants),
        _timestamps(ts[order]),
    ]
    return pa.Table.from_arrays(columns, schema=ASSIGNMENTS_SCHEMA)


def events_table(
    blocks: list[Events], units: Units, timeline: Timeline
) -> tuple[pa.Table, IntArray]:
    """Events of one chunk in the log's time range, sorted by user and time.

    Returns:
        The table and the number of rows of each event in `EVENTS`.
    """
    user = np.concatenate([block.user for block in blocks])
    ts = np.concatenate([block.ts for block in blocks])
    event = np.concatenate([np.full(b.user.size, b.event, np.int8) for b in blocks])
    value = np.concatenate([block.value for block in blocks])
    partner = np.concatenate([block.partner for block in blocks])
    inside = np.flatnonzero((ts >= timeline.day0_us) & (ts < timeline.end_us))
    # One int64 key (user, then time); stable, so ties keep the funnel order.
    span = timeline.n_days * DAY_US
    key = user[inside] * span + (ts[inside] - timeline.day0_us)
    order = inside[np.argsort(key, kind="stable")]
    columns = [
        pa.array(units.index[user[order]] + 1),
        _timestamps(ts[order]),
        _labels(event[order], EVENTS),
        pa.array(value[order]),
        pa.array(partner[order] + 1, mask=partner[order] < 0),
    ]
    counts = np.bincount(event[order], minlength=len(EVENTS)).astype(np.int64)
    return pa.Table.from_arrays(columns, schema=EVENTS_SCHEMA), counts


# ---------------------------------------------------------------- files

_SCHEMAS = {
    "units": UNITS_SCHEMA,
    "assignments": ASSIGNMENTS_SCHEMA,
    "events": EVENTS_SCHEMA,
}


class TableWriters:
    """One Parquet writer per table, writing to temporary names until `commit`.

    Writing (encoding and compression, which release the GIL) runs on a background
    thread while the next chunk is generated; at most one chunk waits in memory.
    """

    def __init__(self, out_dir: Path) -> None:
        self._paths = {name: out_dir / f"{name}.parquet" for name in TABLES}
        self._writers = {
            name: pq.ParquetWriter(_temporary(path), _SCHEMAS[name], compression="zstd")
            for name, path in self._paths.items()
        }
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None
        self.row_counts = dict.fromkeys(TABLES, 0)

    def write(self, tables: Mapping[str, pa.Table]) -> None:
        """Append one chunk's tables (in the background)."""
        self._wait()
        self._pending = self._executor.submit(self._write_now, tables)
        for name, table in tables.items():
            self.row_counts[name] += table.num_rows

    def _write_now(self, tables: Mapping[str, pa.Table]) -> None:
        for name, table in tables.items():
            self._writers[name].write_table(table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def commit(self) -> None:
        """Finish writing, close the files and move them to their final names."""
        self._wait()
        self._executor.shutdown()
        for name, path in self._paths.items():
            self._writers[name].close()
            os.replace(_temporary(path), path)

    def abort(self) -> None:
        """Stop writing, close and delete the temporary files."""
        with contextlib.suppress(Exception):
            self._wait()
        self._executor.shutdown()
        for name, path in self._paths.items():
            with contextlib.suppress(Exception):
                self._writers[name].close()
            _temporary(path).unlink(missing_ok=True)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def write_json_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    """Write `payload` as indented JSON through a temporary name, then move it."""
    temporary = _temporary(path)
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
