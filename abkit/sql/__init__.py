"""Stage 2, SQL rendering: `queries/*.sql` rendered with Jinja, checked and transpiled.

`variables` decides which per-unit variables each metric needs; `render` turns an
experiment into the analysis queries and validates every user expression with sqlglot.
"""

from abkit.sql.render import Dialect as Dialect
from abkit.sql.render import render_all_sql as render_all_sql
from abkit.sql.render import safe_expression as safe_expression
from abkit.sql.render import transpile as transpile
