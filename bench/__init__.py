"""Benchmarks of abkit (run as modules: python -m bench.<name>)."""
