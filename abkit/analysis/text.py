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


SIGNIFICANT = 2
"""Significant digits kept in an interval's half-width: the digits that carry meaning."""


def decimals_for(spread: float | None, default: int, *, most: int = 6) -> int:
    """Decimals that show `spread` (a CI half-width) with two significant digits.

    Example:
        >>> decimals_for(0.062, 4), decimals_for(3.1, 1), decimals_for(None, 2)
        (3, 1, 2)
    """
    if spread is None or not math.isfinite(spread) or spread <= 0:
        return default
    return min(max(SIGNIFICANT - 1 - math.floor(math.log10(spread)), 0), most)


def format_value(value: float, kind: str, spread: float | None = None) -> str:
    """A metric value in its display format (count, percent, currency, number).

    With `spread` (the half-width of the difference's CI, in the metric's units) the
    value keeps the digits the interval makes meaningful.
    """
    if math.isnan(value):
        return MISSING
    if kind == "percent":
        scaled = None if spread is None else spread * 100
        return f"{value * 100:.{decimals_for(scaled, 2, most=4)}f}%"
    if kind == "currency":
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.{decimals_for(spread, 2)}f}"
    if spread is not None and math.isfinite(spread) and spread > 0:
        return f"{value:,.{decimals_for(spread, 4)}f}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_difference(value: float, kind: str, spread: float | None = None) -> str:
    """A signed absolute difference in the metric's units ($, pp or plain)."""
    if math.isnan(value):
        return MISSING
    sign = "-" if value < 0 else "+"
    if kind == "percent":
        scaled = None if spread is None else spread * 100
        return f"{value * 100:+.{decimals_for(scaled, 2, most=4)}f} pp"
    if kind == "currency":
        return f"{sign}${abs(value):,.{decimals_for(spread, 2)}f}"
    if spread is not None and math.isfinite(spread) and spread > 0:
        return f"{value:+,.{decimals_for(spread, 4)}f}"
    return f"{value:+.4g}"


def format_interval(value: float, lower: float, upper: float, kind: str) -> str:
    """A difference with its CI, digits fitted to the CI, e.g. '+$0.01 [-$0.02, +$0.04]'."""
    if math.isnan(lower) or math.isnan(upper):
        return format_difference(value, kind)
    spread = (upper - lower) / 2
    return (
        f"{format_difference(value, kind, spread)} "
        f"[{format_difference(lower, kind, spread)}, "
        f"{format_difference(upper, kind, spread)}]"
    )


def format_lift(value: float, lower: float, upper: float) -> str:
    """Relative lift with its CI, e.g. '+5.1% [+3.2%, +7.0%]'."""
    if math.isnan(value):
        return MISSING
    if math.isnan(lower) or math.isnan(upper):
        return f"{value:+.1%}"
    digits = max(decimals_for((upper - lower) * 50, 1, most=3), 1)
    return f"{value:+.{digits}%} [{lower:+.{digits}%}, {upper:+.{digits}%}]"


def format_share_removed(share: float) -> str:
    """CUPED's cut of the variance, e.g. '−32%' ('<1%' rather than '−0%')."""
    if math.isnan(share):
        return MISSING
    if abs(share) < 0.005:
        return "<1%"
    return f"−{share:.0%}" if share > 0 else f"+{-share:.0%}"


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
