"""The steps of refresh.sql on one locked-down DuckDB connection, and the kept state.

The state is a DuckDB database file attached as `abkit_kept`, with the tables
`moments` (moments.sql's rows of the last refresh), `caps` (the caps and shifts
they were computed with), `health` (exposure_health.sql's rows) and `meta` (one
JSON document: key, cut, data end, event days, files, and the per-unit files),
and the per-unit rows in Parquet files beside it (parts.py): `units` (one row per
exposed unit: exposure and the aggregates of its events before the cut, a base
and a delta of the units changed since) and `buffer` (the aggregates of the events
from the cut to the data end, per unit with such events).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from abkit.aggregates.rows import Rows, table_rows
from abkit.analysis.queries import arrow_frame
from abkit.analysis.refresh.parts import (
    FOLD_SHARE,
    UNIT_COLUMNS,
    checked_parts,
    next_slot,
    part_files,
    part_path,
    part_relation,
    unreferenced,
    written,
)
from abkit.engines.duckdb import DuckDBEngine
from abkit.sql.render import quote_literal, render_template, timestamp_literal

KEPT = "abkit_kept"
STATE_TABLES = ("moments", "caps", "health", "meta")
KEPT_UNITS, KEPT_BUFFER, NEXT_DELTA = (
    "abkit_kept_units",
    "abkit_kept_buffer",
    "abkit_delta",
)
Parts = dict[str, dict[str, int] | None]


def state_files(path: Path) -> list[Path]:
    """The state file and the files DuckDB keeps beside it (write-ahead log)."""
    return [path, *(path.with_name(path.name + s) for s in (".wal", ".wal.checkpoint"))]


def workspace_files(path: Path, scratch: Path) -> list[Path]:
    """Every file a refresh of the state at `path` may read or write."""
    return state_files(path) + state_files(scratch) + part_files(path)


def instant(value: dt.datetime) -> str:
    """A timestamp literal of a point in time (to the microsecond)."""
    return f"CAST('{value.isoformat(sep=' ')}' AS TIMESTAMP)"


class Steps:
    """Render and run refresh.sql's steps; read and write the kept state."""

    def __init__(self, engine: DuckDBEngine, context: dict[str, Any]) -> None:
        self.engine = engine
        self.con: duckdb.DuckDBPyConnection = engine.connection
        self.context = context
        self.attached = False
        self.state: Path | None = None
        self.parts: Parts | None = None

    def sql(self, step: str, **extra: Any) -> str:
        """The SQL of one refresh.sql step."""
        return render_template("refresh.sql", self.context | extra | {"step": step})

    def run(self, sql: str) -> None:
        """Run one statement."""
        self.con.execute(sql)

    def create(self, table: str, body: str) -> None:
        """`table` := the rows of `body` (a temporary table)."""
        self.run(f"CREATE OR REPLACE TEMP TABLE {table} AS {body}")

    def view(self, name: str, body: str) -> None:
        """`name` := a temporary view of `body` (nothing is copied)."""
        self.run(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")

    def create_step(self, table: str, step: str, **extra: Any) -> None:
        """`table` := the rows of a refresh.sql step."""
        self.create(table, self.sql(step, **extra))

    def scalar(self, sql: str) -> Any:
        """The first value of a query."""
        row = self.con.execute(sql).fetchone()
        return row[0] if row else None

    def frame(self, sql: str) -> pd.DataFrame:
        """A query's rows as pandas."""
        return arrow_frame(self.engine.query(sql))

    def rows(self, sql: str) -> Rows:
        """A query's rows as Python values."""
        return table_rows(self.engine.query(sql))

    def merge(self, table: str, left: str, right: str) -> None:
        """`table` := the two relations' aggregates added up per unit."""
        self.create_step(table, "merge", left=left, right=right)

    def moments(
        self, exposures: str, aggregates: str, caps: str | None, end: dt.datetime
    ) -> pd.DataFrame:
        """moments.sql over the given units, their aggregates and caps."""
        return self.frame(
            self.sql(
                "moments",
                exposures_table=exposures,
                aggregates_table=aggregates,
                caps_table=caps,
                data_end_value=instant(end),
            )
        )

    def caps_row(
        self, table: str, exposures: str, aggregates: str, end: dt.datetime
    ) -> None:
        """`table` := caps.sql over every exposed unit (one row)."""
        self.create_step(
            table,
            "caps",
            exposures_table=exposures,
            aggregates_table=aggregates,
            data_end_value=instant(end),
        )

    def event_days(self, since: dt.date | None, until: dt.date) -> dict[str, list[Any]]:
        """Row count, checksum and last timestamp per day of the events in [since, until)."""
        sql = self.sql(
            "event_days",
            days_from=timestamp_literal(since) if since is not None else None,
            days_until=timestamp_literal(until),
        )
        rows = self.con.execute(sql).fetchall()
        return {str(d): [int(n), int(check), last] for d, n, check, last in rows}

    def events_end(self) -> dt.datetime | None:
        """The latest event of the events CTE (None without events)."""
        body = render_template("sources.sql", self.context)
        value = self.scalar(f"WITH {body} SELECT MAX(ts) FROM events")
        return value if isinstance(value, dt.datetime) else None

    # the kept state

    def attach(self, path: Path) -> None:
        """Attach the state file (created when missing)."""
        self.run(f"ATTACH {quote_literal(str(path))} AS {KEPT}")
        self.attached = True

    def detach(self) -> None:
        """Detach the state file (DuckDB checkpoints it first)."""
        if self.attached:
            self.run(f"DETACH {KEPT}")
            self.attached = False

    def read_meta(self, path: Path) -> dict[str, Any]:
        """Attach the state and read its metadata; raises duckdb.Error or ValueError."""
        self.attach(path)
        tables = {
            str(r[0])
            for r in self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [KEPT]
            ).fetchall()
        }
        if not set(STATE_TABLES) <= tables:
            raise ValueError("tables are missing")
        meta = json.loads(self.scalar(f"SELECT document FROM {KEPT}.meta"))
        if not isinstance(meta, dict):
            raise TypeError("its metadata is not a JSON object")
        self.state = path
        self.parts = meta.get("parts") if isinstance(meta.get("parts"), dict) else None
        parts = checked_parts(path, meta.get("parts"))
        units, delta = (
            part_relation(path, "units", parts["units"] or {}),
            parts["delta"],
        )
        if delta is not None:
            rows = part_relation(path, "delta", delta)
            units = (
                f"SELECT b.* FROM {units} AS b ANTI JOIN {rows} AS d"
                " ON b.unit_id = d.unit_id UNION ALL BY NAME"
                f" SELECT * EXCLUDE (removed) FROM {rows} WHERE NOT removed"
            )
        else:
            units = f"SELECT * FROM {units}"
        self.run(f"CREATE OR REPLACE TEMP VIEW {KEPT_UNITS} AS {units}")
        buffer = part_relation(path, "buffer", parts["buffer"] or {})
        self.run(f"CREATE OR REPLACE TEMP VIEW {KEPT_BUFFER} AS SELECT * FROM {buffer}")
        return meta

    def kept(self, table: str) -> str:
        """The name of a kept state table (units and buffer: views of their files)."""
        return {"units": KEPT_UNITS, "buffer": KEPT_BUFFER}.get(
            table, f"{KEPT}.{table}"
        )

    def write_part(self, name: str, body: str) -> dict[str, int]:
        """Write `body`'s rows as the part's next slot file; what the metadata keeps."""
        assert self.state is not None
        slot = next_slot(self.parts, name)
        path = part_path(self.state, name, slot)
        count = self.scalar(
            f"COPY ({body}) TO {quote_literal(str(path))}"
            " (FORMAT parquet, COMPRESSION uncompressed, USE_TMP_FILE false)"
        )
        return written(path, slot, int(count))

    def write_new_state(
        self,
        state: Path,
        rows: dict[str, str],
        tables: dict[str, str | pa.Table],
        meta: dict[str, Any],
    ) -> None:
        """Write the per-unit files of `state`, then every table of the attached file.

        Call with the new, empty file attached (it replaces `state` after).
        """
        self.state = state
        parts: Parts = {"delta": None}
        for name, body in rows.items():
            parts[name] = self.write_part(name, f"SELECT * FROM {body}")
        meta = meta | {"parts": parts}
        self.parts = parts
        for name, body in tables.items():
            source = self._relation(name, body)
            self.run(f"CREATE TABLE {KEPT}.{name} AS SELECT * FROM {source}")
        self.run(f"CREATE TABLE {KEPT}.meta (document VARCHAR)")
        self.con.execute(f"INSERT INTO {KEPT}.meta VALUES (?)", [json.dumps(meta)])

    def update_units(
        self,
        changed: str,
        rows: str,
        others: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        """Write the changed units' rows and the buffer, then commit the rest and meta.

        `changed`: a relation of the units whose kept row changed (unit_id);
        `rows`: their new kept rows, with a `removed` row for those no longer
        analysed; `others` holds the new buffer and the tables to replace. The
        delta gets those rows and the kept delta's rows of the other units; it is
        folded into a new base when large. The new files go to the slots the kept metadata does
        not name, so the old state stays whole until the commit.
        """
        assert self.state is not None
        assert self.parts is not None
        old = self.parts
        delta = rows
        bound = int(self.scalar(f"SELECT COUNT(*) FROM {changed}"))
        if old["delta"] is not None:
            delta += (
                " UNION ALL BY NAME SELECT d.* FROM"
                f" {part_relation(self.state, 'delta', old['delta'])} AS d"
                f" ANTI JOIN {changed} AS c ON d.unit_id = c.unit_id"
            )
            bound += old["delta"]["rows"]
        base = old["units"]
        assert base is not None
        parts: Parts = dict(old)
        if bound >= FOLD_SHARE * max(base["rows"], 1):  # at most `bound` delta rows
            self.create(NEXT_DELTA, delta)
            base_rows = part_relation(self.state, "units", base)
            parts["units"] = self.write_part(
                "units",
                f"SELECT {UNIT_COLUMNS}, * EXCLUDE ({UNIT_COLUMNS}) FROM"
                f" (SELECT b.* FROM {base_rows} AS b ANTI JOIN {NEXT_DELTA} AS d"
                " ON b.unit_id = d.unit_id UNION ALL BY NAME"
                f" SELECT * EXCLUDE (removed) FROM {NEXT_DELTA} WHERE NOT removed)",
            )
            parts["delta"] = None
        else:
            parts["delta"] = self.write_part("delta", delta)
        others = dict(others)
        parts["buffer"] = self.write_part("buffer", others.pop("buffer"))
        self.run("BEGIN TRANSACTION")
        try:
            for name, body in others.items():
                source = self._relation(name, body)
                self.run(f"DELETE FROM {KEPT}.{name}")
                self.run(f"INSERT INTO {KEPT}.{name} BY NAME SELECT * FROM {source}")
            document = json.dumps(meta | {"parts": parts})
            self.con.execute(f"UPDATE {KEPT}.meta SET document = ?", [document])
            self.run("COMMIT")
        except duckdb.Error:
            self.run("ROLLBACK")
            raise
        self.parts = parts

    def remove_unreferenced(self) -> None:
        """Delete the slot files the committed metadata does not name."""
        if self.state is not None and self.parts is not None:
            for stale in unreferenced(self.state, self.parts):
                stale.unlink(missing_ok=True)

    def _relation(self, name: str, body: str | pa.Table | pd.DataFrame) -> str:
        if isinstance(body, str):
            return body
        view = f"abkit_frame_{name}"
        self.con.register(view, body)
        return view
