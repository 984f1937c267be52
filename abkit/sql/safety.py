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


MAX_DEPTH = 25
"""Deepest parenthesis nesting accepted in a metric expression."""

MAX_LENGTH = 4_000
"""Longest metric expression accepted, in characters."""

MAX_SHOWN = 80
"""Most characters of an expression quoted in an error message."""


def safe_expression(text: str, known_columns: Iterable[str], where: str) -> str:
    """Parse a user expression, refuse anything but safe scalar SQL, and re-render it.

    Allowed: literals, known unqualified columns, arithmetic, comparisons, boolean
    logic, CASE, CAST and the functions in `ALLOWED_FUNCTIONS`. Refused: statements,
    subqueries, table functions (read_csv, glob, …), unknown functions and columns.

    Raises:
        QueryError: naming `where` and the offending part, with the fix.
    """
    known = set(known_columns)
    _check_size(text, where)
    try:
        parsed = sqlglot.parse(text, dialect="duckdb")
    except RecursionError:
        raise QueryError(
            f"{where}: expression is nested too deeply to check; write it with "
            f"at most {MAX_DEPTH} levels of parentheses",
            expression=text[:MAX_SHOWN],
        ) from None
    except (ParseError, sqlglot.errors.TokenError) as error:
        raise QueryError(
            f"{where}: cannot parse {_shown(text)} ({_first_line(error)}); write "
            "one SQL scalar expression",
            expression=text,
        ) from None
    if len(parsed) != 1 or parsed[0] is None:
        raise QueryError(
            f"{where}: {_shown(text)} holds {len(parsed)} statements; write one "
            "scalar expression without ';'",
            expression=text,
        )
    expression = parsed[0]
    for node in expression.walk():
        _check_node(cast(exp.Expression, node), known, where, text)
    try:
        return expression.sql(dialect="duckdb")
    except RecursionError:
        raise QueryError(
            f"{where}: expression is nested too deeply to render; simplify it",
            expression=text[:MAX_SHOWN],
        ) from None


def _check_size(text: str, where: str) -> None:
    """Refuse huge or deeply nested text before the recursive parser sees it."""
    if len(text) > MAX_LENGTH:
        raise QueryError(
            f"{where}: expression is {len(text):,} characters long; keep it under "
            f"{MAX_LENGTH:,} (split the logic into several metrics)",
            expression=text[:MAX_SHOWN],
        )
    depth = deepest = 0
    for char in text:
        if char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise QueryError(
            f"{where}: expression nests {deepest} parentheses deep; write it with "
            f"at most {MAX_DEPTH} levels",
            expression=text[:MAX_SHOWN],
        )


def _check_node(node: exp.Expression, known: set[str], where: str, text: str) -> None:
    if isinstance(node, exp.Column):
        if node.table or node.name not in known:
            allowed = ", ".join(sorted(known))
            raise QueryError(
                f"{where}: unknown column '{node.sql()[:60]}' in {_shown(text)}; use one "
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
                f"{where}: function '{name[:60]}' is not allowed in {_shown(text)}; "
                "metric expressions may use only scalar functions such as "
                "abs, least, coalesce, ln",
                expression=text,
            )
        return
    if not isinstance(node, _ALLOWED_NODES):
        shown = node.sql(dialect="duckdb")[:60] or type(node).__name__
        raise QueryError(
            f"{where}: '{shown}' is not allowed in {_shown(text)}; write a scalar "
            "expression over event columns (no statements, subqueries or "
            "table functions)",
            expression=text,
        )


def _shown(text: str) -> str:
    quoted = repr(text)
    return quoted if len(quoted) <= MAX_SHOWN else quoted[: MAX_SHOWN - 1] + "…"


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:120]
