"""The full default demo catalogue against its own one fused scan, in fresh processes.

    python -m bench.catalogue --users 200000 --repeats 3

The job is `abkit.analyze` of data/examples/exp.yaml on a demo log of `--users`
members (15 metrics, segments, health checks, contamination, quantiles, daily looks
and the novelty view). The limit is the one statement DuckDB needs for all of the
catalogue's sums: abkit's rendered moments statement, run alone by a process that
imports only duckdb. The ratio says what everything beyond that one scan costs: the
other queries (contamination, quantiles), the imports, the statistics and the
assembly. Sides: `scan`, `abkit` (the API) and `cli` (`abkit analyze -f json`).
Every run is its own process, measured by bench/like_for_like/measure.py (wall, CPU,
peak RSS); repeats are interleaved with the side order rotating; medians are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from abkit.config import load_experiment
from abkit.demo.generator import DemoSpec, demo_is_current, generate_demo
from abkit.sql.render import render_all_sql
from bench.like_for_like.run import abkit_executable

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
SIDES = ("scan", "abkit", "cli")


def prepare(users: int, root: Path) -> Path:
    """The examples' exp.yaml beside a demo log of `users` members (made once)."""
    spec = DemoSpec(n_users=users)
    if not demo_is_current(root / "demo", spec):
        generate_demo(root / "demo", spec)
    shutil.copytree(EXAMPLES, root / "examples", dirs_exist_ok=True)
    return root / "examples" / "exp.yaml"


def commands(exp: Path, scratch: Path) -> dict[str, list[str]]:
    """Each side's command line."""
    scan_sql = scratch / "scan.sql"
    scan_sql.write_text(render_all_sql(load_experiment(exp))["moments"])
    scan = (
        "import duckdb, pathlib\n"
        f"sql = pathlib.Path({str(scan_sql)!r}).read_text()\n"
        "duckdb.connect(':memory:').execute(sql).fetchall()\n"
    )
    analyse = f"import abkit\nabkit.analyze({str(exp)!r})\n"
    output = str(scratch / "result.json")
    return {
        "scan": [sys.executable, "-c", scan],
        "abkit": [sys.executable, "-c", analyse],
        "cli": [abkit_executable(), "analyze", str(exp), "-f", "json", "-o", output],
    }


def measured(command: list[str]) -> dict[str, float]:
    """Wall, CPU and peak RSS of one run, from measure.py in its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.like_for_like.measure", *command],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/abkit-catalogue"))
    args = parser.parse_args()
    exp = prepare(args.users, args.dir / f"u{args.users}")
    experiment = load_experiment(exp)
    events = experiment.data.events.path
    import duckdb

    ((count,),) = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{events}')"
    ).fetchall()
    print(
        f"{args.users:,} members, {count:,} events, "
        f"{len(experiment.metrics)} metrics, segments {list(experiment.segments)}"
    )
    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory() as scratch:
        lines = commands(exp, Path(scratch))
        for repeat in range(args.repeats):
            order = SIDES[repeat % len(SIDES) :] + SIDES[: repeat % len(SIDES)]
            for side in order:
                runs[side].append(measured(lines[side]))
    median = {
        side: {k: statistics.median(r[k] for r in runs[side]) for k in runs[side][0]}
        for side in SIDES
    }
    limit = median["scan"]
    print(f"{'side':6} {'wall s':>7} {'CPU s':>7} {'RSS MiB':>8} "
          f"{'wall ×':>7} {'CPU ×':>6} {'RSS ×':>6}")  # fmt: skip
    for side in SIDES:
        m = median[side]
        print(
            f"{side:6} {m['wall']:7.2f} {m['cpu']:7.2f} {m['rss_mib']:8.0f} "
            f"{m['wall'] / limit['wall']:7.2f} {m['cpu'] / limit['cpu']:6.2f} "
            f"{m['rss_mib'] / limit['rss_mib']:6.2f}"
        )
    print(
        "load average (1, 5, 15 min): before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )


if __name__ == "__main__":
    main()
