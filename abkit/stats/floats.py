"""IEEE float arithmetic that never raises: the one mechanism behind "never raise".

Python floats raise where IEEE 754 arithmetic gives ±inf or NaN: `x ** 2` and
`math.exp` raise OverflowError, `x / 0.0` raises ZeroDivisionError, `int(inf)`
raises, and under pytest's `filterwarnings = error` numpy's overflow warnings
raise too. The statistics functions instead compute with IEEE semantics (an
overflow becomes ±inf, 0/0 becomes NaN) and then turn a non-finite result into a
status ("overflow", "invalid_statistic", ...) or NaN, so one extreme metric never
stops an analysis:

- `square`, `ratio`, `root`, `exponential`: the scalar operations that raise.
- `ieee`: a decorator running a function under `numpy.errstate(all="ignore")`,
  for code whose arrays may overflow; the function checks finiteness itself.
- `whole_count`: a float count rounded to an int, capped instead of raising.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")

MAX_COUNT = 2**62
"""The largest count an integer result reports (a plan beyond it is not feasible)."""


def square(x: float) -> float:
    """x², +inf instead of OverflowError when |x| > 1.3e154."""
    return x * x


def ratio(numerator: float, denominator: float) -> float:
    """The quotient with IEEE semantics: ±inf for x/0, NaN for 0/0."""
    if denominator == 0:
        if numerator == 0 or math.isnan(numerator):
            return math.nan
        return math.copysign(math.inf, numerator) * math.copysign(1.0, denominator)
    return numerator / denominator


def root(x: float) -> float:
    """√x, NaN for a negative x (instead of ValueError)."""
    return math.sqrt(x) if x >= 0 else math.nan


def exponential(x: float) -> float:
    """eˣ, +inf instead of OverflowError for x > 709.78."""
    return math.exp(x) if x <= 709.78 else math.inf


def whole_count(x: float, *, up: bool = True) -> int:
    """⌈x⌉ (or ⌊x⌋), clipped to [0, MAX_COUNT]; NaN counts as MAX_COUNT."""
    if not x < MAX_COUNT:  # +inf, NaN and huge values
        return MAX_COUNT
    return max(0, math.ceil(x) if up else math.floor(x))


def ieee(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` with numpy's float errors ignored (IEEE results, no warnings)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return wrapper
