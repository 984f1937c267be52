"""Time `abkit analyze` on a large demo log, with peak memory and fused-query ratios.

Usage: python bench/analyze_1m.py [--users 1000000] [--dir DIR]

Prints, for the same data in the same run:
- the whole analysis (every query + statistics) in a fresh process: seconds, peak RSS;
- the fused moments query against one query per metric (ratio);
- the fused query on read_parquet against the same query on native DuckDB tables.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

import abkit
from abkit.config import Experiment, load_experiment
from abkit.demo.generator import DemoSpec, demo_is_current, generate_demo
from abkit.sql.render import render_analysis_sql

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def prepare(users: int, root: Path) -> Path:
    spec = DemoSpec(n_users=users)
    if not demo_is_current(root / "demo", spec):
        started = time.perf_counter()
        generate_demo(root / "demo", spec)
        print(f"generated {users:,} users in {time.perf_counter() - started:.1f} s")
    shutil.copytree(EXAMPLES, root / "examples", dirs_exist_ok=True)
    return root / "examples" / "exp.yaml"


def analyse_in_fresh_process(exp: Path) -> dict[str, float]:
    code = (
        "import json, resource, time, abkit\n"
        "t = time.perf_counter()\n"
        f"result = abkit.analyze({str(exp)!r})\n"
        "elapsed = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': elapsed, 'peak_mib': peak,"
        " 'units': sum(result.units.values()), 'metrics': len(result.metrics)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def timed(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    started = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - started


def one_metric(experiment: Experiment, index: int) -> Experiment:
    return experiment.model_copy(update={"metrics": (experiment.metrics[index],),
                                         "segments": ()})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/abkit-bench"))
    args = parser.parse_args()
    exp_path = prepare(args.users, args.dir / f"u{args.users}")
    experiment = load_experiment(exp_path)
    events = len(duckdb.sql(f"SELECT 1 FROM '{experiment.data.events.path}'"))
    print(f"{args.users:,} users, {events:,} events, {len(experiment.metrics)} metrics, "
          f"segments {list(experiment.segments)}")  # fmt: skip

    whole = analyse_in_fresh_process(exp_path)
    print(f"abkit.analyze (fresh process): {whole['seconds']:.2f} s, "
          f"peak RSS {whole['peak_mib']:.0f} MiB")  # fmt: skip

    con = duckdb.connect()
    no_segments = experiment.model_copy(update={"segments": ()})
    fused = min(timed(con, render_analysis_sql(no_segments)) for _ in range(2))
    per_metric = sum(
        timed(con, render_analysis_sql(one_metric(experiment, i)))
        for i in range(len(experiment.metrics))
    )
    print(f"fused moments query: {fused:.2f} s; one query per metric: {per_metric:.2f} s "
          f"(ratio {per_metric / fused:.1f}x)")  # fmt: skip

    data = experiment.data
    for name, source in (("assignments", data.assignments), ("events", data.events)):
        con.execute(f"CREATE TABLE native_{name} AS SELECT * FROM '{source.path}'")
    native = no_segments.model_copy(update={"data": data.model_copy(update={
        "assignments": data.assignments.model_copy(update={"path": None,
                                                           "table": "native_assignments"}),
        "events": data.events.model_copy(update={"path": None, "table": "native_events"}),
    })})  # fmt: skip
    on_tables = min(timed(con, render_analysis_sql(native)) for _ in range(2))
    print(f"fused query on native tables: {on_tables:.2f} s "
          f"(Parquet / native = {fused / on_tables:.2f})")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"bench process peak RSS {peak:.0f} MiB; abkit {abkit.resources.abkit_version()}"
    )


if __name__ == "__main__":
    main()
