"""Metric expressions from exp.yaml / metrics.yaml, checked before they reach SQL.

A user expression must be one scalar SQL expression over known event columns:
literals, arithmetic, comparisons, boolean logic, CASE, CAST and the functions in
`ALLOWED_FUNCTIONS`. Anything else (statements, subqueries, table functions such as
read_csv or glob, unknown functions and columns) is a one-line `QueryError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from abkit.errors import QueryError

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
