"""SQL engines: the only code that talks to a database."""

from abkit.engines.base import Engine as Engine
from abkit.engines.duckdb import DuckDBEngine as DuckDBEngine
