"""SQL engines: the only code that talks to a database (DuckDB, Spark, Postgres)."""

from abkit.engines.base import Engine as Engine
from abkit.engines.duckdb import DuckDBEngine as DuckDBEngine
from abkit.engines.select import ENGINES as ENGINES
from abkit.engines.select import open_engine as open_engine
