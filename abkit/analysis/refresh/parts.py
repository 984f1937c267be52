"""The per-unit rows of the refresh state: Parquet files beside the state file.

Three parts, each in one of two slot files `<exp>.refresh.<part>.<slot>.parquet`:

* `units`: the base, one row per exposed unit as of the last fold;
* `delta`: the newest row of every unit changed since (a `removed` row for a unit
  no longer analysed), or no file right after a fold;
* `buffer`: the aggregates of the events from the cut to the data end.

A unit's kept row is its delta row if it has one, else its base row. A refresh
writes the parts it changes into the slot the committed metadata does not name,
then commits the metadata (in the state's DuckDB file) naming the new files with
their row count, size and modification time. A refresh killed before that commit
leaves the old metadata and its untouched files; any file that no longer has the
recorded size and time is refused (the state is rebuilt, said in one line), so a
kept state never gives a wrong number. The delta is folded into a new base when it
reaches FOLD_SHARE of the base's rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from abkit.sql.render import quote_literal

PARTS = ("units", "delta", "buffer")
FOLD_SHARE = 0.5
"""The delta is folded into the base when it holds this share of the base's rows."""

UNIT_COLUMNS = "exposed_at, variant, has_events, unit_id"


def part_path(state: Path, part: str, slot: int) -> Path:
    """The file of one slot of one part."""
    return state.with_name(f"{state.name}.{part}.{slot}.parquet")


def part_files(state: Path) -> list[Path]:
    """Every slot file of every part of the state at `state`."""
    return [part_path(state, p, s) for p in PARTS for s in (0, 1)]


def checked_parts(state: Path, parts: Any) -> dict[str, dict[str, int] | None]:
    """The metadata's parts, each file checked against its recorded size and time.

    Raises ValueError (the state is then rebuilt) naming the first part whose file
    is missing or was written since.
    """
    if not isinstance(parts, dict) or set(parts) != set(PARTS):
        raise ValueError("its metadata does not list the per-unit files")
    for name, part in parts.items():
        if part is None and name == "delta":
            continue
        path = part_path(state, name, int(part["slot"]))
        try:
            info = os.stat(path)
        except OSError:
            raise ValueError(f"{path.name} is missing") from None
        if [info.st_size, info.st_mtime_ns] != [part["size"], part["mtime_ns"]]:
            raise ValueError(f"{path.name} changed since it was kept")
    return parts


def part_relation(state: Path, name: str, part: dict[str, int]) -> str:
    """The relation of one kept part file."""
    return f"read_parquet({quote_literal(str(part_path(state, name, part['slot'])))})"


def next_slot(parts: dict[str, dict[str, int] | None] | None, name: str) -> int:
    """The slot a new file of `name` goes to: the one the kept metadata does not name."""
    kept = (parts or {}).get(name)
    return 1 - int(kept["slot"]) if kept else 0


def written(path: Path, slot: int, rows: int) -> dict[str, int]:
    """What the metadata records of a part file just written."""
    info = os.stat(path)
    return {
        "slot": slot,
        "rows": rows,
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
    }


def unreferenced(state: Path, parts: dict[str, dict[str, int] | None]) -> list[Path]:
    """The slot files the metadata does not name (safe to delete after its commit)."""
    named = {
        part_path(state, name, int(part["slot"]))
        for name, part in parts.items()
        if part is not None
    }
    return [p for p in part_files(state) if p not in named]
