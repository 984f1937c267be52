"""Day-14 incremental refresh against a full analysis, on the like-for-like log.

    python -m bench.like_for_like.refresh_bench --scale 10M --repeats 3
    python -m bench.like_for_like.refresh_bench --scale 10M --order shuffled

By default (`--order time`) the bench runs on a time-ordered copy of the generated
events, as real logs appended day by day are: written once beside the data, in
`<scale>-by-time/`, sorted by timestamp in row groups of 131,072 rows, so the
refresh's `ts >= cut` filter skips the row groups before the cut by their Parquet
statistics. `--order shuffled` runs on the generated file itself (events shuffled
within each 5M-event chunk: no row group can be skipped).

The log's units are exposed from 2 March 2026, so the morning of day 14 is 16 March.
The state is primed once on day 13 (15 March, not timed); then, interleaved, each
repeat times in its own process (bench/like_for_like/measure.py: wall, CPU, peak
RSS) a full `abkit.analyze(as_of=16 March)` and `refresh_analysis` from a fresh
copy of the day-13 state. Also reported: the seconds inside the call (without
`import abkit`), and whether the two results agree to 1e-12.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.like_for_like.generate import default_dir, ensure_data, parse_count

DAY_13 = dt.date(2026, 3, 15)
DAY_14 = dt.date(2026, 3, 16)
SIDES = ("full", "refresh")
ROW_GROUP = 131_072
COPIED = ("assignments.parquet", "exp.yaml", "metrics.yaml", "manifest.json")


def time_ordered(directory: Path) -> Path:
    """A copy of the data directory with its events sorted by time (made once).

    Reused while its manifest equals the source's; the events are written to a
    scratch file and renamed, so a half-written copy is never taken for a whole one.
    """
    import duckdb

    target = directory.parent / f"{directory.name}-by-time"
    source_manifest = (directory / "manifest.json").read_text(encoding="utf-8")
    manifest = target / "manifest.json"
    if manifest.exists() and manifest.read_text(encoding="utf-8") == source_manifest:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    scratch = target / "events.parquet.partial"
    events = str(directory / "events.parquet").replace("'", "''")
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{events}') ORDER BY ts)"
            f" TO '{str(scratch).replace(chr(39), chr(39) * 2)}'"
            f" (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})"
        )
    scratch.rename(target / "events.parquet")
    for name in COPIED:  # the manifest last: it marks the copy complete
        shutil.copy2(directory / name, target / name)
    return target


def run_side(side: str, directory: Path, state_dir: Path, out: Path) -> None:
    """Run one side in this process and write its call seconds and numbers."""
    started = time.perf_counter()
    from abkit.analysis.refresh import refresh_analysis
    from abkit.analysis.run import analyze

    imported = time.perf_counter()
    exp = directory / "exp.yaml"
    if side == "full":
        result, how = analyze(exp, as_of=DAY_14), "full analysis"
    else:
        day = DAY_13 if side == "prime" else DAY_14
        result, outcome = refresh_analysis(exp, state_dir, as_of=day)
        how = outcome.describe()
    done = time.perf_counter()
    figures = {
        "import_s": imported - started,
        "call_s": done - imported,
        "how": how,
        "metrics": [m.to_dict() for m in result.metrics],
    }
    out.write_text(json.dumps(figures, default=str), encoding="utf-8")


def measured(side: str, directory: Path, state_dir: Path) -> dict[str, Any]:
    """Spawn one side under measure.py; its figures and call seconds."""
    out = state_dir.parent / f"{side}.json"
    command = [sys.executable, "-m", "bench.like_for_like.measure", sys.executable]
    command += ["-m", "bench.like_for_like.refresh_bench", "--side", side]
    command += ["--data", str(directory), "--state", str(state_dir), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    side_figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return figures | side_figures


def same_numbers(a: Any, b: Any) -> bool:
    """Whether two results agree, every float to 1e-12 (relative or absolute)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same_numbers, a, b))
    if isinstance(a, float) and isinstance(b, float):
        both_nan = math.isnan(a) and math.isnan(b)
        return both_nan or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def bench(directory: Path, repeats: int) -> dict[str, Any]:
    """Prime the day-13 state, then interleave full and refresh runs."""
    work = directory.parent / f"{directory.name}-refresh"
    shutil.rmtree(work, ignore_errors=True)
    primed, state = work / "day13", work / "state"
    measured("prime", directory, primed)
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for _ in range(repeats):
        for side in SIDES:
            shutil.rmtree(state, ignore_errors=True)
            shutil.copytree(primed, state)
            runs[side].append(measured(side, directory, state))
    return {
        side: {
            key: statistics.median(r[key] for r in found)
            for key in ("wall", "cpu", "rss_mib", "call_s")
        }
        | {"how": found[-1]["how"]}
        for side, found in runs.items()
    } | {
        "equal": same_numbers(
            runs["full"][-1]["metrics"], runs["refresh"][-1]["metrics"]
        )
    }


def table(figures: dict[str, Any]) -> str:
    """The Markdown table of the medians and the refresh / full ratios."""
    lines = [
        "| side | wall s | CPU s | RSS MiB | in-call s | how |",
        "| --- " * 6 + "|",
    ]
    for side in SIDES:
        f = figures[side]
        lines.append(
            f"| {side} | {f['wall']:.2f} | {f['cpu']:.2f} | {f['rss_mib']:.0f} "
            f"| {f['call_s']:.2f} | {f['how']} |"
        )
    full, fresh = figures["full"], figures["refresh"]
    ratios = " / ".join(
        f"{key} {fresh[key] / full[key]:.2f}x" for key in ("wall", "cpu", "call_s")
    )
    lines.append(f"\nrefresh / full: {ratios}; numbers equal: {figures['equal']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="10M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--order",
        choices=("time", "shuffled"),
        default="time",
        help="events sorted by time (a copy beside the data; default) or as generated",
    )
    parser.add_argument("--side", choices=("prime", *SIDES))
    parser.add_argument("--data", type=Path)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.side:
        run_side(args.side, args.data, args.state, args.out)
        return
    count = parse_count(args.scale)
    directory = default_dir(count)
    ensure_data(directory, count)
    if args.order == "time":
        directory = time_ordered(directory)
    print(f"events: {args.order}-ordered, {directory / 'events.parquet'}")
    print(table(bench(directory, args.repeats)))


if __name__ == "__main__":
    main()
