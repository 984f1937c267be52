"""The engine protocol: run SQL where the data lives, return a small Arrow table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from abkit.config import Source

if TYPE_CHECKING:
    import pyarrow as pa

    from abkit.sql.dialects import Dialect


class Engine(Protocol):
    """Runs abkit's generated SQL where the data lives.

    Attributes:
        name: the engine ("duckdb", "spark", "postgres"), recorded in every result.
        dialect: the SQL dialect abkit renders its queries in for this engine.
    """

    name: str
    dialect: Dialect

    def columns(self, source: Source) -> list[str]:
        """Column names of a source table (raises DataError if it cannot be read)."""
        ...

    def query(self, sql: str) -> pa.Table:
        """Run one query and return its (small) result as Arrow."""
        ...

    def close(self) -> None:
        """Release what the engine opened itself (never the user's connection)."""
        ...
