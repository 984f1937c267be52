"""The limit: limit.sql on DuckDB, then the CUPED Welch finish of numbers.py.

python -m bench.like_for_like.limit DIR     # prints the numbers as JSON
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from string import Template
from typing import Any

import duckdb

from bench.like_for_like.numbers import Numbers, numbers_from_rows

LIMIT_SQL = Path(__file__).with_name("limit.sql")


def quoted(path: Path) -> str:
    """A single-quoted SQL string literal of a path."""
    return "'" + str(path).replace("'", "''") + "'"


def limit_query(directory: Path) -> str:
    """limit.sql with the two Parquet paths of a data directory filled in."""
    template = Template(LIMIT_SQL.read_text(encoding="utf-8"))
    return template.substitute(
        assignments=quoted(directory / "assignments.parquet"),
        events=quoted(directory / "events.parquet"),
    )


def limit_sums(directory: Path) -> dict[str, dict[str, Any]]:
    """variant -> the row of per-variant sums limit.sql returns."""
    with duckdb.connect(":memory:") as con:
        cursor = con.execute(limit_query(directory))
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    return {str(row[0]): dict(zip(names, row, strict=True)) for row in rows}


def limit_numbers(directory: Path) -> Numbers:
    """The limit's final numbers for a data directory."""
    return numbers_from_rows(limit_sums(directory))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    print(json.dumps(limit_numbers(args.directory), indent=2))


if __name__ == "__main__":
    main()
