"""Run one side of the like-for-like job in this process and write its numbers.

    python -m bench.like_for_like.worker SIDE DIR OUT.json

SIDE is one of `SIDES`. The side's library is imported first, then the job runs
under a timer; OUT.json gets the numbers, the in-process job seconds (imports
excluded) and the job's CPU seconds (user + system, all threads). run.py measures
the whole process around this (wall, CPU and peak RSS from os.wait4).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

from bench.like_for_like.numbers import Numbers

Job = Callable[[Path], Numbers]
SIDES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "limit": (("duckdb",), "bench.like_for_like.limit", "limit_numbers"),
    "abkit_api": (
        ("abkit.analysis.run",),
        "bench.like_for_like.contenders",
        "abkit_api_numbers",
    ),
    "polars": (("polars",), "bench.like_for_like.contenders", "polars_numbers"),
    "pandas": (
        ("pandas", "pyarrow.parquet"),
        "bench.like_for_like.contenders",
        "pandas_numbers",
    ),
}
"""side -> (libraries imported before the timer, module, function). abkit imports
lazily, so its analysis module (duckdb, pandas, scipy.stats, …) is loaded here."""


def load_job(side: str) -> Job:
    """Import a side's library and return its job function."""
    libraries, module, function = SIDES[side]
    for library in libraries:
        importlib.import_module(library)
    job: Job = getattr(importlib.import_module(module), function)
    return job


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_job(side: str, directory: Path) -> dict[str, object]:
    """The side's numbers with its in-process wall and CPU seconds."""
    job = load_job(side)
    cpu, started = cpu_seconds(), time.perf_counter()
    numbers = job(directory)
    return {
        "numbers": numbers,
        "job_seconds": time.perf_counter() - started,
        "job_cpu_seconds": cpu_seconds() - cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=sorted(SIDES))
    parser.add_argument("directory", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    report = run_job(args.side, args.directory)
    args.output.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
