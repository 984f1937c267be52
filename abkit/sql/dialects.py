"""The warehouse dialects abkit's SQL runs in, and every difference between them.

The templates are written once in DuckDB SQL; sqlglot transpiles them. What sqlglot
cannot translate faithfully is in one small mapping, `RULES`: the exact percentile
aggregate behind the winsorizing caps, the day of the instant just before a
timestamp (DuckDB subtracts a microsecond; Trino has no microsecond interval), the
microseconds between two timestamps (Trino counts milliseconds at most) and how
a file source is read. The renderer asks these rules, never the dialect's name.

sqlglot is imported on the first transpile, so listing the dialects (the command
line's help) stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from abkit.errors import QueryError

Dialect = Literal["duckdb", "spark", "bigquery", "snowflake", "trino", "postgres"]
DIALECTS: tuple[Dialect, ...] = (
    "duckdb",
    "spark",
    "bigquery",
    "snowflake",
    "trino",
    "postgres",
)

_MICROSECOND_BEFORE = "CAST({ts} - INTERVAL 1 MICROSECOND AS DATE)"
_MIDNIGHT_BEFORE = (
    "CASE WHEN {ts} = CAST(CAST({ts} AS DATE) AS TIMESTAMP) "
    "THEN CAST({ts} - INTERVAL 1 DAY AS DATE) ELSE CAST({ts} AS DATE) END"
)


_NAN_EQUALS_ITSELF = "{x} = CAST('NaN' AS DOUBLE)"
_MICROSECONDS = "DATE_DIFF('microsecond', {start}, {end})"
# Trino's date_diff stops at milliseconds; its TIMESTAMP holds milliseconds too, so
# the product is exact there
_MILLISECONDS_TIMES_1000 = "DATE_DIFF('millisecond', {start}, {end}) * 1000"


@dataclass(frozen=True, slots=True)
class DialectRules:
    """What the templates need to know about one dialect.

    Attributes:
        percentile: the exact continuous-percentile aggregate, called as
            `name(value, fraction)` in the DuckDB text sqlglot reads (DuckDB's
            QUANTILE_CONT becomes PERCENTILE_CONT ... WITHIN GROUP for Postgres and
            Snowflake); None where the dialect has only an approximate one.
        day_before: the DATE of the instant just before timestamp `{ts}`.
        file_readers: table function per file kind ("parquet", "csv"); a dialect
            without any reads tables only.
        is_nan: the test that value `{x}` is NaN, in the DuckDB text sqlglot reads
            (`x = NaN` is false on DuckDB's Parquet reader; Postgres and Snowflake
            have no ISNAN but treat NaN as equal to itself).
        microseconds: the exact microseconds from timestamp `{start}` to `{end}`
            as an integer, in the DuckDB text sqlglot reads.
    """

    percentile: str | None
    day_before: str = _MICROSECOND_BEFORE
    file_readers: Mapping[str, str] = field(default_factory=dict)
    is_nan: str = "ISNAN({x})"
    microseconds: str = _MICROSECONDS


RULES: dict[Dialect, DialectRules] = {
    "duckdb": DialectRules(
        "QUANTILE_CONT",
        file_readers={"parquet": "read_parquet", "csv": "read_csv_auto"},
    ),
    # sqlglot writes DuckDB's read_parquet('p') as Spark's parquet.`p`
    "spark": DialectRules("PERCENTILE", file_readers={"parquet": "read_parquet"}),
    "postgres": DialectRules("QUANTILE_CONT", is_nan=_NAN_EQUALS_ITSELF),
    "snowflake": DialectRules("QUANTILE_CONT", is_nan=_NAN_EQUALS_ITSELF),
    # PERCENTILE_CONT is an analytic (window) function in BigQuery; aggregates are
    # APPROX_QUANTILES only
    "bigquery": DialectRules(None),
    # Trino has approx_percentile only, and no MICROSECOND interval
    "trino": DialectRules(
        None, day_before=_MIDNIGHT_BEFORE, microseconds=_MILLISECONDS_TIMES_1000
    ),
}


def dialect_rules(dialect: str) -> DialectRules:
    """The rules of a dialect, or a QueryError listing the known ones."""
    if dialect not in RULES:
        raise QueryError(
            f"unknown dialect '{dialect}'; choose one of {', '.join(DIALECTS)}"
        )
    return RULES[dialect]


def file_reader(dialect: str, path: str) -> str:
    """The table function reading a file source, or a QueryError naming the fix."""
    kind = "csv" if path.lower().endswith((".csv", ".csv.gz")) else "parquet"
    reader = dialect_rules(dialect).file_readers.get(kind)
    if reader is None:
        fix = (
            "convert it to Parquet or name a table"
            if dialect_rules(dialect).file_readers
            else "load it into a table and name it with `table:` in exp.yaml data:"
        )
        raise QueryError(
            f"{dialect} cannot read the {kind} file {path}; {fix}", expression=path
        )
    return reader


def percentile_function(dialect: str, metrics: tuple[str, ...]) -> str:
    """The exact percentile aggregate for the caps of winsorized `metrics`.

    Raises:
        QueryError: the dialect has only approximate percentiles; abkit never
            approximates a cap silently.
    """
    function = dialect_rules(dialect).percentile
    if function is None:
        raise QueryError(
            f"{dialect} has only approximate percentiles, so the winsorizing caps of "
            f"{', '.join(metrics)} cannot be exact there; run on duckdb, spark, "
            "postgres or snowflake, or drop winsorize: from those metrics"
        )
    return function


def is_nan(dialect: str, value: str) -> str:
    """The dialect's test that `value` is NaN (DuckDB text, transpiled after)."""
    return dialect_rules(dialect).is_nan.format(x=value)


def day_before(dialect: str, timestamp: str) -> str:
    """SQL for the date of the instant just before `timestamp`."""
    return dialect_rules(dialect).day_before.format(ts=timestamp)


def microseconds_between(dialect: str, start: str, end: str) -> str:
    """SQL for the exact microseconds from timestamp `start` to `end` (an integer)."""
    return dialect_rules(dialect).microseconds.format(start=start, end=end)


def transpile(sql: str, dialect: Dialect, *, pretty: bool = True) -> str:
    """Transpile DuckDB SQL to another dialect with sqlglot."""
    import sqlglot

    dialect_rules(dialect)
    statements = sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=pretty)
    return ";\n\n".join(statements)
