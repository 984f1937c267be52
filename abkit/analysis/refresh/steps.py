"""The steps of refresh.sql on one locked-down DuckDB connection, and the kept state.

The state is a DuckDB database file attached as `abkit_kept`, with the tables
`units` (one row per exposed unit: exposure and the aggregates of its events before
the cut), `buffer` (the aggregates of the events from the cut to the data end, per
unit with such events), `moments` (moments.sql's rows of the last refresh), `caps`
(the caps and shifts they were computed with), `health` (exposure_health.sql's
rows) and `meta` (one JSON document: key, cut, data end, event days, files).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from abkit.analysis.queries import arrow_frame
from abkit.engines.duckdb import DuckDBEngine
from abkit.sql.render import quote_literal, render_template, timestamp_literal

KEPT = "abkit_kept"
STATE_TABLES = ("units", "buffer", "moments", "caps", "health", "meta")


def state_files(path: Path) -> list[Path]:
    """The state file and the files DuckDB keeps beside it (write-ahead log)."""
    return [path, *(path.with_name(path.name + s) for s in (".wal", ".wal.checkpoint"))]


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

    def sql(self, step: str, **extra: Any) -> str:
        """The SQL of one refresh.sql step."""
        return render_template("refresh.sql", self.context | extra | {"step": step})

    def run(self, sql: str) -> None:
        """Run one statement."""
        self.con.execute(sql)

    def create(self, table: str, body: str) -> None:
        """`table` := the rows of `body` (a temporary table)."""
        self.run(f"CREATE OR REPLACE TEMP TABLE {table} AS {body}")

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
        return meta

    def kept(self, table: str) -> str:
        """The name of a kept state table."""
        return f"{KEPT}.{table}"

    def write_new_state(
        self, tables: dict[str, str | pa.Table], meta: dict[str, Any]
    ) -> None:
        """Create every state table in the (new, empty) attached file."""
        for name, body in tables.items():
            source = self._relation(name, body)
            self.run(f"CREATE TABLE {KEPT}.{name} AS SELECT * FROM {source}")
        self.run(f"CREATE TABLE {KEPT}.meta (document VARCHAR)")
        self.con.execute(f"INSERT INTO {KEPT}.meta VALUES (?)", [json.dumps(meta)])

    def update_units(
        self, changed: str, rows: str, others: dict[str, Any], meta: dict[str, Any]
    ) -> None:
        """Replace the changed units' rows, then the other tables, in one transaction."""
        self.run("BEGIN TRANSACTION")
        try:
            self.run(
                f"DELETE FROM {KEPT}.units WHERE unit_id IN (SELECT unit_id FROM {changed})"
            )
            self.run(f"INSERT INTO {KEPT}.units BY NAME SELECT * FROM {rows}")
            for name, body in others.items():
                source = self._relation(name, body)
                self.run(f"DELETE FROM {KEPT}.{name}")
                self.run(f"INSERT INTO {KEPT}.{name} BY NAME SELECT * FROM {source}")
            self.con.execute(f"UPDATE {KEPT}.meta SET document = ?", [json.dumps(meta)])
            self.run("COMMIT")
        except duckdb.Error:
            self.run("ROLLBACK")
            raise

    def _relation(self, name: str, body: str | pa.Table | pd.DataFrame) -> str:
        if isinstance(body, str):
            return body
        view = f"abkit_frame_{name}"
        self.con.register(view, body)
        return view
