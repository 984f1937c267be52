"""Plain-text building blocks for `print(result)`: number formats and aligned columns.

Results and plans print themselves with these, without the report stage: a compact,
uncoloured scorecard for notebooks and logs. The rich terminal tables, Markdown,
JSON and HTML are `abkit.report`'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MISSING = "–"
"""Shown for a number that could not be computed (NaN)."""


def format_value(value: float, kind: str) -> str:
    """A metric value in its display format (count, percent, currency, number)."""
    if math.isnan(value):
        return MISSING
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "currency":
        return f"${value:,.3f}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_difference(value: float, kind: str) -> str:
    """A signed absolute difference in the metric's units."""
    if math.isnan(value):
        return MISSING
    if kind == "percent":
        return f"{value * 100:+.2f} pp"
    if kind == "currency":
        return f"{value:+,.3f}"
    return f"{value:+.4g}"


def format_lift(value: float, lower: float, upper: float) -> str:
    """Relative lift with its CI, e.g. '+5.1% [+3.2%, +7.0%]'."""
    if math.isnan(value):
        return MISSING
    if math.isnan(lower):
        return f"{value:+.1%}"
    return f"{value:+.1%} [{lower:+.1%}, {upper:+.1%}]"


def format_pvalue(pvalue: float) -> str:
    """p-value with sensible precision."""
    if math.isnan(pvalue):
        return MISSING
    return "<0.0001" if pvalue < 1e-4 else f"{pvalue:.4f}"


def aligned(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Rows of cells as lines: the first column left-aligned, the others right-aligned.

    Example:
        >>> aligned([["metric", "p-value"], ["revenue", "0.0312"]], indent="")
        ['metric   p-value', 'revenue   0.0312']
    """
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines
