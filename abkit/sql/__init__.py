"""Stage 2, SQL: `queries/*.sql` rendered with Jinja, checked and transpiled.

`variables` decides which per-unit variables each metric needs; `render` turns an
experiment into the analysis queries; `safety` validates every user expression with
sqlglot; `dialects` lists the warehouse dialects and transpiles to them. Importing
the package (or `dialects`) does not load Jinja or sqlglot: `render_all_sql` and
`safe_expression` load their modules on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from abkit.sql.dialects import DIALECTS as DIALECTS
from abkit.sql.dialects import Dialect as Dialect
from abkit.sql.dialects import transpile as transpile

if TYPE_CHECKING:
    from abkit.sql.render import render_all_sql as render_all_sql
    from abkit.sql.safety import safe_expression as safe_expression

LAZY_NAMES = {
    "render_all_sql": "abkit.sql.render",
    "safe_expression": "abkit.sql.safety",
}
"""Re-exported name -> the module that defines it, imported on first access."""


def __getattr__(name: str) -> Any:
    """Import a re-exported name's module on first access (PEP 562)."""
    module = LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'abkit.sql' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
