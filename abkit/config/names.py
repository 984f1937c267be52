"""Table names from exp.yaml, checked to be plain (qualified) identifiers.

`data.<source>.table` is spliced into SQL as a relation, so anything but
`name`, `schema.name` or `catalog.schema.name` (a table function such as
``read_csv('/etc/passwd')``, a subquery, a join) would let an experiment file
read any file the engine can reach. sqlglot parses the text; only a table whose
parts are all identifiers passes.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

MAX_TABLE_NAME = 200
"""Longest table name accepted (catalog.schema.name)."""

_PARTS = ("this", "db", "catalog")
_PART = re.compile(r"^[^/\\.:'\"`\x00-\x1f]+$")
"""An identifier part that cannot name a file (DuckDB reads 'x.csv' as a file)."""


def check_table_name(text: str) -> None:
    """Refuse anything but a (qualified) table identifier.

    Raises:
        ValueError: the text is not name, schema.name or catalog.schema.name.
    """
    fix = (
        "write a table name as name, schema.name or catalog.schema.name "
        "(files go under path:)"
    )
    if not text.strip() or len(text) > MAX_TABLE_NAME:
        raise ValueError(f"table must be a short table name; {fix}")
    try:
        parsed = sqlglot.parse_one(text, into=exp.Table, dialect="duckdb")
    except (ParseError, TokenError, RecursionError):
        raise ValueError(f"table '{_shown(text)}' is not a table name; {fix}") from None
    if not _plain_table(parsed):
        raise ValueError(f"table '{_shown(text)}' is not a plain table name; {fix}")


def _plain_table(parsed: exp.Expression) -> bool:
    if not isinstance(parsed, exp.Table):
        return False
    for key, value in parsed.args.items():
        if value is None:
            continue
        if key not in _PARTS or not isinstance(value, exp.Identifier):
            return False
        if not _PART.match(value.name):
            return False
    return isinstance(parsed.args.get("this"), exp.Identifier)


def _shown(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:59] + "…"
