"""abkit against a hand-fused DuckDB limit, polars and pandas on the same job."""
