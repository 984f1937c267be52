"""Checks of the arguments of the store's writes: nothing is written when one fails.

Every refusal is a `StoreError` that names the method, the argument and the fix.

Payload:
    Stored as JSON text written by `abkit.jsonable` (the one strict encoder of abkit).
    NaN and ±inf become ``null`` (in a result they mean "not computable"), dates and
    datetimes ISO-8601 strings, tuples and numpy arrays lists, numpy scalars Python
    numbers, integer keys strings. Anything else is refused before writing.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping

from abkit.errors import StoreError
from abkit.jsonable import JsonableError, dumps
from abkit.store.records import DECISIONS


def require_text(where: str, *, optional: bool = False, **values: object) -> None:
    """Refuse any of `values` that is not a non-blank string (None too if required)."""
    for name, value in values.items():
        if value is None and optional:
            continue
        if not isinstance(value, str) or not value.strip():
            raise StoreError(
                f"{where}: {name} {value!r} is empty or not text; pass a non-empty"
                " string"
            )


def require_decision(where: str, decision: object) -> None:
    """Refuse a decision that is not one of `DECISIONS`, suggesting the closest."""
    if decision in DECISIONS:
        return
    close = difflib.get_close_matches(str(decision).lower(), DECISIONS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "pick one of them"
    raise StoreError(
        f"{where}: decision {decision!r} is not one of {', '.join(DECISIONS)}; {hint}"
    )


def require_window(where: str, start: str | None, end: str | None) -> None:
    """Refuse a window bound that is not ISO-8601, or a start after the end."""
    parsed = [
        _parse_window(where, name, value)
        for name, value in (("window_start", start), ("window_end", end))
    ]
    first, last = parsed
    if first is None or last is None:
        return
    if (first.tzinfo is None) == (last.tzinfo is None) and first > last:
        raise StoreError(
            f"{where}: window_start {start!r} is after window_end {end!r}; swap them"
        )


def _parse_window(where: str, name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise StoreError(
            f"{where}: {name} {value!r} is not an ISO-8601 date; pass e.g."
            " '2026-03-02' or '2026-03-02T00:00:00', or None"
        ) from None


def payload_json(payload: object) -> str:
    """The payload as compact JSON text; refuse a non-mapping or an unjsonable value."""
    if not isinstance(payload, Mapping):
        raise StoreError(
            f"ResultStore.save_snapshot: payload is a {type(payload).__name__}, not a"
            " mapping; pass a dict such as AnalysisResult.to_dict()"
        )
    try:
        return dumps(payload, where="payload", compact=True, ensure_ascii=False)
    except JsonableError as exc:
        raise _payload_error(exc.where, exc.problem) from None


def _payload_error(where: str, what: str) -> StoreError:
    return StoreError(
        f"ResultStore.save_snapshot: {where} {what}; convert it to a string, number,"
        " list or dict before saving"
    )
