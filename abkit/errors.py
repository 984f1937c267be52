"""One exception hierarchy: every message says where, what and how to fix, on one line.

Each error also inherits the matching built-in, so `except ValueError` in user code
still works. The CLI prints the message and exits 2; anything else is a bug.
"""

from __future__ import annotations


class AbkitError(Exception):
    """Base of every error abkit raises on purpose (bad input, not bugs)."""


class ConfigError(AbkitError, ValueError):
    """exp.yaml / metrics.yaml is missing, malformed or inconsistent."""


class QueryError(AbkitError, ValueError):
    """A SQL template or a user-supplied expression is invalid or unsafe.

    Attributes:
        template: the template or metric the problem is in, if known.
        expression: the offending expression text, if any.
    """

    def __init__(
        self, message: str, *, template: str = "", expression: str = ""
    ) -> None:
        super().__init__(message)
        self.template = template
        self.expression = expression


class DataError(AbkitError, ValueError):
    """The data does not match the experiment: missing columns, empty variants."""


class EngineError(AbkitError, RuntimeError):
    """The SQL engine failed to run a query abkit generated."""


class StoreError(AbkitError, RuntimeError):
    """The results store cannot be opened or written safely."""
