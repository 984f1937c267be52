"""One-line config errors: a pydantic error described as where, what and the fix.

"Did you mean" suggestions come from the closest allowed name, so a typo in exp.yaml
or metrics.yaml reads "unknown key 'alpah'; did you mean 'alpha'?".
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from abkit.config.metrics import Metric

MAX_SHOWN = 80
"""Most characters of a user value quoted in an error message."""


def clip(text: object, limit: int = MAX_SHOWN) -> str:
    """A user value as one short line for an error message (cut with '…')."""
    shown = " ".join(str(text).split())
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def suggest(word: str, candidates: Sequence[str]) -> str:
    """A "did you mean" hint naming the closest candidate ('' when none is close)."""
    if len(word) > MAX_SHOWN:  # difflib is quadratic: no hint for a huge word
        return ""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{clip(close[0])}'?" if close else ""


def describe_error(error: ValidationError, model: type[BaseModel], where: str) -> str:
    """The first pydantic error as one line: where, what, and the fix."""
    first = error.errors()[0]
    location = clip(_location(first["loc"]))
    prefix = f"{where}: {location}" if location else where
    if first["type"] == "extra_forbidden":
        key = clip(first["loc"][-1])
        allowed = _allowed_keys(model, first["loc"][:-1])
        hint = suggest(key, allowed) or f"; allowed keys: {', '.join(sorted(allowed))}"
        return f"{where}: unknown key '{clip(location)}'{hint}"
    if first["type"] == "missing":
        return f"{prefix}: required key is missing; add it"
    message = clip(first["msg"].removeprefix("Value error, "), 240)
    given = first.get("input")
    shown = (
        f" (got {clip(repr(given))})"
        if given is not None and not isinstance(given, dict)
        else ""
    )
    return f"{prefix}: {message}{shown}"


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if text else str(part))
        )
    return text


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field else None
        current = _model_in(annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [k for k in current.model_fields if k != "name" or current is not Metric]
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
