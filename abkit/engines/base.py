"""The engine protocol: run SQL, return a small data frame."""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from abkit.config import Source


class Engine(Protocol):
    """Runs abkit's generated SQL where the data lives."""

    name: str

    def columns(self, source: Source) -> list[str]:
        """Column names of a source table (raises DataError if it cannot be read)."""
        ...

    def query(self, sql: str) -> pd.DataFrame:
        """Run one query and return its (small) result."""
        ...
