"""Render, validate and transpile the SQL templates in `queries/`.

Templates are written once in DuckDB SQL. This module fills them from a validated
`Experiment`, checks every user-supplied expression with sqlglot (one scalar
expression over known columns, functions from an allow-list) and transpiles the
result to another dialect on request.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import jinja2
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from abkit.config import EventsSource, Experiment, Metric, Source
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

EVENT_COLUMNS = ("unit_id", "ts", "event", "value", "partner_id")
"""Canonical event columns every metric expression may use (see sources.sql)."""

ALLOWED_FUNCTIONS = frozenset(
    {
        "abs",
        "ceil",
        "ceiling",
        "floor",
        "round",
        "sign",
        "sqrt",
        "exp",
        "ln",
        "log",
        "log10",
        "log2",
        "power",
        "pow",
        "least",
        "greatest",
        "coalesce",
        "nullif",
        "lower",
        "upper",
        "length",
        "trim",
        "substring",
        "substr",
        "concat",
        "strpos",
        "starts_with",
        "ends_with",
        "contains",
        "regexp_matches",
        "date_part",
        "extract",
        "date_trunc",
        "dayofweek",
        "hour",
        "if",
        "iff",
    }
)
"""Scalar functions allowed in metric expressions; anything else is refused."""

_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Neg,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
    exp.Var,
    exp.Tuple,
)


@functools.cache
def queries_dir() -> Path:
    """Where the SQL templates are: inside the installed package, else the repo."""
    packaged = Path(__file__).parent / "queries"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "queries"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(queries_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # SQL, not HTML: every value is quoted by this module
    )


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """Render one template of `queries/` with an already-validated context."""
    try:
        return _environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound:
        raise QueryError(
            f"queries/{name}: template not found; reinstall abkit or restore the file",
            template=name,
        ) from None


@dataclass(frozen=True, slots=True)
class RenderedSource:
    """A source table as SQL: its relation text and quoted mapped columns."""

    relation: str
    columns: dict[str, str]
    extra_columns: tuple[str, ...] = ()


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier, safe for any name."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def timestamp_literal(day: dt.date) -> str:
    """A portable TIMESTAMP literal for midnight of `day`."""
    return f"CAST('{day.isoformat()} 00:00:00' AS TIMESTAMP)"


def relation_sql(source: Source) -> str:
    """`read_parquet('…')` or `read_csv_auto('…')` for files, else the table."""
    if source.path is not None:
        reader = (
            "read_csv_auto"
            if source.path.lower().endswith((".csv", ".csv.gz"))
            else "read_parquet"
        )
        return f"{reader}({quote_literal(source.path)})"
    assert source.table is not None
    try:
        table = exp.to_table(source.table, dialect="duckdb")
    except (ParseError, ValueError):
        raise QueryError(
            f"data table '{source.table}' is not a valid table name; write "
            "it as name or schema.name",
            expression=source.table,
        ) from None
    return table.sql(dialect="duckdb")


def _render_source(source: Source, roles: Iterable[str]) -> RenderedSource:
    columns = {}
    for role in roles:
        column = getattr(source, role)
        columns[role] = quote_identifier(column) if column else "NULL"
    extra = source.extra_columns if isinstance(source, EventsSource) else ()
    return RenderedSource(
        relation_sql(source), columns, tuple(map(quote_identifier, extra))
    )


def source_context(experiment: Experiment) -> dict[str, Any]:
    """The template parameters of sources.sql."""
    data = experiment.data
    return {
        "assignments": _render_source(
            data.assignments, ("unit_id", "variant", "timestamp")
        ),
        "events": _render_source(
            data.events, ("unit_id", "timestamp", "event", "value", "partner_id")
        ),
        "window_start": timestamp_literal(experiment.start)
        if experiment.start
        else None,
        "window_end": timestamp_literal(experiment.end) if experiment.end else None,
    }


def known_event_columns(experiment: Experiment) -> tuple[str, ...]:
    """Columns a metric expression may reference."""
    return EVENT_COLUMNS + experiment.data.events.extra_columns


def metric_context(metric: Metric, known_columns: Iterable[str]) -> dict[str, Any]:
    """A metric's template parameters, its expressions validated and re-rendered."""
    columns = tuple(known_columns)
    return {
        "name": metric.name,  # an identifier by config validation; quoted in templates
        "kind": metric.kind,
        "events": [quote_literal(e) for e in metric.events],
        "value": safe_expression(
            metric.value, columns, f"metric '{metric.name}' value"
        ),
        "filter": (
            safe_expression(metric.filter, columns, f"metric '{metric.name}' filter")
            if metric.filter
            else None
        ),
        "start_day": metric.window.start_day,
        "end_day": metric.window.end_day,
    }


def render_analysis_sql(experiment: Experiment) -> str:
    """The fused per-variant moments query of an experiment, in DuckDB SQL."""
    columns = known_event_columns(experiment)
    metrics = [metric_context(m, columns) for m in experiment.metrics]
    ends = [m.window.end_day for m in experiment.metrics]
    horizon = max(e for e in ends if e is not None) if None not in ends else None
    context = source_context(experiment) | {
        "metrics": metrics,
        "horizon_days": horizon,
        "variants": [quote_literal(v) for v in experiment.variants],
    }
    return render_template("analysis.sql", context)


def render_health_sql(experiment: Experiment) -> str:
    """The exposure health query of an experiment, in DuckDB SQL."""
    return render_template("exposure_health.sql", source_context(experiment))


def safe_expression(text: str, known_columns: Iterable[str], where: str) -> str:
    """Parse a user expression, refuse anything but safe scalar SQL, and re-render it.

    Allowed: literals, known unqualified columns, arithmetic, comparisons, boolean
    logic, CASE, CAST and the functions in `ALLOWED_FUNCTIONS`. Refused: statements,
    subqueries, table functions (read_csv, glob, …), unknown functions and columns.

    Raises:
        QueryError: naming `where` and the offending part, with the fix.
    """
    known = set(known_columns)
    try:
        parsed = sqlglot.parse(text, dialect="duckdb")
    except (ParseError, sqlglot.errors.TokenError) as error:
        raise QueryError(
            f"{where}: cannot parse {text!r} ({_first_line(error)}); write "
            "one SQL scalar expression",
            expression=text,
        ) from None
    if len(parsed) != 1 or parsed[0] is None:
        raise QueryError(
            f"{where}: {text!r} holds {len(parsed)} statements; write one "
            "scalar expression without ';'",
            expression=text,
        )
    expression = parsed[0]
    for node in expression.walk():
        _check_node(cast(exp.Expression, node), known, where, text)
    return expression.sql(dialect="duckdb")


def _check_node(node: exp.Expression, known: set[str], where: str, text: str) -> None:
    if isinstance(node, exp.Column):
        if node.table or node.name not in known:
            allowed = ", ".join(sorted(known))
            raise QueryError(
                f"{where}: unknown column '{node.sql()}' in {text!r}; use one "
                f"of {allowed} (or list it in data.events.extra_columns)",
                expression=text,
            )
        return
    if isinstance(node, exp.Func) and not isinstance(node, _ALLOWED_NODES):
        name = (
            node.sql_name().lower()
            if not isinstance(node, exp.Anonymous)
            else node.name.lower()
        )
        if name not in ALLOWED_FUNCTIONS or isinstance(node, exp.AggFunc):
            raise QueryError(
                f"{where}: function '{name}' is not allowed in {text!r}; "
                "metric expressions may use only scalar functions such as "
                "abs, least, coalesce, ln",
                expression=text,
            )
        return
    if not isinstance(node, _ALLOWED_NODES):
        shown = node.sql(dialect="duckdb")[:60] or type(node).__name__
        raise QueryError(
            f"{where}: '{shown}' is not allowed in {text!r}; write a scalar "
            "expression over event columns (no statements, subqueries or "
            "table functions)",
            expression=text,
        )


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:120]


def transpile(sql: str, dialect: Dialect, *, pretty: bool = True) -> str:
    """Transpile DuckDB SQL to another dialect with sqlglot."""
    if dialect not in DIALECTS:
        raise QueryError(
            f"unknown dialect '{dialect}'; choose one of {', '.join(DIALECTS)}"
        )
    statements = sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=pretty)
    return ";\n\n".join(statements)
