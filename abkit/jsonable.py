"""One strict JSON encoder for abkit: results as plain JSON values, or refused.

Stage 0 (foundation): imports only the standard library and `abkit.errors`.

Results hold floats that may be NaN or infinite ("not computable"), dates, tuples and
numpy values; JSON holds none of them. `to_jsonable` converts a value to plain JSON
types, and `dumps` also writes it as text. Both are strict: what they cannot convert
faithfully is refused with `JsonableError`, which says where in the value the problem
is, instead of being written as something else.

Conversions:
    * ``None``, ``str``, ``int`` and ``bool``: unchanged.
    * ``float``: unchanged when finite; NaN, +inf and -inf become ``None``.
    * ``datetime.date``, ``datetime.datetime``, ``datetime.time``: ISO-8601 strings
      (``value.isoformat()``).
    * mappings: dicts, in the same order. Keys must be ``str``, or ``int`` (not
      ``bool``), which becomes its decimal string; any other key is refused.
    * lists and tuples: lists.
    * numpy scalars and arrays: their ``tolist()`` value, converted again (numpy is not
      imported; a value counts as numpy when its type lives in the ``numpy`` module).
    * anything else (sets, objects, ...): refused.
    * nesting deeper than `MAX_DEPTH` containers: refused (also catches cycles).

Example:
    >>> import datetime
    >>> to_jsonable({"lift": float("nan"), "day": datetime.date(2026, 3, 2), 7: (1,)})
    {'lift': None, 'day': '2026-03-02', '7': [1]}
    >>> print(dumps({"ci": [0.1, float("inf")]}, indent=2))
    {
      "ci": [
        0.1,
        null
      ]
    }
    >>> dumps({"x": {1, 2}}, where="payload")
    Traceback (most recent call last):
    ...
    abkit.jsonable.JsonableError: payload['x'] is a set, which JSON cannot hold
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from abkit.errors import AbkitError

__all__ = ["MAX_DEPTH", "JsonableError", "dumps", "to_jsonable"]

MAX_DEPTH = 64


class JsonableError(AbkitError, ValueError):
    """A value JSON cannot hold faithfully.

    The message is ``f"{where} {problem}"``, e.g. ``payload['x'] is a set, which JSON
    cannot hold``; callers that word their own message use the two parts.

    Attributes:
        where: the path to the value from the root, e.g. ``payload['metrics'][0]``
            (for a key: ``payload['series'] key (1, 2)``).
        problem: what is wrong with it, e.g. ``is a set, which JSON cannot hold``.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where} {problem}")
        self.where = where
        self.problem = problem


def to_jsonable(
    value: object, *, where: str = "value", max_depth: int = MAX_DEPTH
) -> Any:
    """`value` as plain JSON types (dict, list, str, int, float, bool, None).

    Args:
        value: what to convert; see the module docstring for the conversions.
        where: the name of `value` in error messages (paths are built from it).
        max_depth: the deepest nesting of mappings and lists accepted.

    Returns:
        A new value made of plain JSON types only, with no NaN or infinity.

    Raises:
        JsonableError: a part of `value` has a type JSON cannot hold, a mapping key
            is not a string or integer, or the nesting is deeper than `max_depth`.
    """
    return _convert(value, where, 0, max_depth)


def dumps(
    value: object,
    *,
    where: str = "value",
    indent: int | None = None,
    compact: bool = False,
    ensure_ascii: bool = True,
) -> str:
    r"""`value` converted by `to_jsonable` and written as JSON text.

    With the defaults this is ``json.dumps(to_jsonable(value))``; the options are
    passed on to `json.dumps` (``allow_nan=False`` always: nothing non-finite is left).

    Args:
        value: what to write.
        where: the name of `value` in error messages.
        indent: spaces per level for multi-line output (e.g. 2 for reports), or None
            for one line.
        compact: no spaces after ``,`` and ``:`` (the store's one-line form).
        ensure_ascii: escape non-ASCII characters as ``\uXXXX`` (json's default);
            False writes them as they are.

    Returns:
        The JSON text.

    Raises:
        JsonableError: as `to_jsonable`.
    """
    ready = to_jsonable(value, where=where)
    separators = (",", ":") if compact else None
    return json.dumps(
        ready,
        allow_nan=False,
        ensure_ascii=ensure_ascii,
        indent=indent,
        separators=separators,
    )


def _convert(value: object, where: str, depth: int, max_depth: int) -> Any:
    if depth > max_depth:
        raise JsonableError(where, f"is nested more than {max_depth} deep")
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {
            _key(key, where): _convert(item, f"{where}[{key!r}]", depth + 1, max_depth)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _convert(item, f"{where}[{index}]", depth + 1, max_depth)
            for index, item in enumerate(value)
        ]
    to_list = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(to_list) and type(value).__module__ == "numpy":
        return _convert(to_list(), where, depth + 1, max_depth)
    raise JsonableError(where, f"is a {type(value).__name__}, which JSON cannot hold")


def _key(key: object, where: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise JsonableError(f"{where} key {key!r}", "is not a string")
