"""What a kept refresh state depends on, and the cheap checks that it still holds.

A source file is identified by its path, size and modification time (what `make`
and `rsync` trust): an unchanged file holds the same rows. A file that changed, or a
new one, cannot have touched the days before the cut if its Parquet footer's
statistics say that every row group starts at or after the cut; otherwise the
per-day row counts and checksums of the old days are compared in one scan.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import re
from typing import Any

import pyarrow.parquet as pq

from abkit.config import Experiment, Source

STATE_FORMAT = 3
"""Bumped whenever the state's layout changes (an older state then runs in full)."""

_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)

Files = dict[str, list[int]]


def config_key(experiment: Experiment) -> str:
    """What the kept aggregates depend on: the config and the analysis options."""
    parts = {
        "format": STATE_FORMAT,
        "config": experiment.config_hash,
        "cuped": experiment.cuped.enabled,
        "start": str(experiment.start),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def source_files(source: Source | None) -> Files | None:
    """Size and modification time of each local file of `source` (None: unknown)."""
    if source is None or source.path is None or _REMOTE.match(source.path):
        return None
    paths = glob.glob(source.path) if glob.has_magic(source.path) else [source.path]
    found: Files = {}
    for path in sorted(paths):
        try:
            info = os.stat(path)
        except OSError:
            return None
        found[os.path.abspath(path)] = [info.st_size, info.st_mtime_ns]
    return found


def experiment_files(experiment: Experiment) -> dict[str, Files | None]:
    """The files of every source of the experiment."""
    data = experiment.data
    return {
        "assignments": source_files(data.assignments),
        "events": source_files(data.events),
        "units": source_files(data.units),
    }


def starts_at_or_after(path: str, column: str, cut: dt.datetime) -> bool:
    """Whether a Parquet file's footer proves that no row of it lies before `cut`."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (
        OSError,
        ValueError,
        TypeError,
    ):  # not Parquet, or unreadable: it must be scanned
        return False
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if column not in names:
        return False
    index = names.index(column)
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            return False
        low = stats.min
        if not isinstance(low, dt.datetime) or low.tzinfo is not None or low < cut:
            return False
    return True


def old_events_unchanged(
    kept: Files | None, now: Files | None, column: str, cut: dt.date
) -> bool:
    """Whether the files alone prove the events before `cut` unchanged."""
    if kept is None or now is None or kept.keys() - now.keys():
        return False
    start = dt.datetime.combine(cut, dt.time())
    changed = [path for path, stat in now.items() if kept.get(path) != stat]
    return all(starts_at_or_after(path, column, start) for path in changed)


def stale_reason(
    experiment: Experiment, meta: dict[str, Any], files: dict[str, Files | None]
) -> str | None:
    """Why the state's metadata rules it out, or None."""
    if meta.get("key") != config_key(experiment):
        return "the configuration changed since the state was kept"
    cut = dt.date.fromisoformat(meta["cut"])
    if experiment.end is not None and cut > experiment.end:
        return f"--as-of {experiment.end} is before the kept cut {cut}"
    if experiment.data.units is not None and (
        files["units"] is None or files["units"] != meta["files"]["units"]
    ):
        return "the units table (segments, covariates) changed or cannot be checked"
    return None
