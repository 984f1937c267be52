"""abkit against the fused-DuckDB limit, polars and pandas: the same job, same data.

    python -m bench.like_for_like.run --scales 10M,50M,100M --repeats 5
    python -m bench.like_for_like.run --scales 1M --check-only

Sides: `limit` (limit.sql + the CUPED Welch finish), `abkit_api` (abkit.analyze),
`abkit_cli` (`abkit analyze exp.yaml -f json`), `polars` and `pandas` (hand-written,
contenders.py). Every run is a fresh process, measured from the outside by
measure.py with os.wait4: wall seconds, CPU seconds (user + system of the child and
its threads) and peak RSS. Runs are interleaved (every repeat goes through every scale and
side, the side order rotating), and each figure is the median over the repeats.
`inner` is the side's own timer around the job, imports excluded (none for the CLI).

Prints, per scale and side: wall, CPU, RSS, inner, and wall, CPU and RSS as ratios to
the limit; the largest relative difference of each side's numbers from the limit's
(must be < 1e-9; a larger one exits with status 1); with two or more scales, a
least-squares fit wall = intercept + slope × (events / 10M) per side; the load
average before and after. Data is generated once per scale (generate.py) and kept.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.like_for_like.generate import (
    data_bytes,
    ensure_data,
    format_count,
    parse_count,
)
from bench.like_for_like.numbers import (
    Discrepancy,
    Numbers,
    abkit_numbers,
    largest_difference,
)

REPO = Path(__file__).resolve().parents[2]
SIDES = ("limit", "abkit_api", "abkit_cli", "polars", "pandas")
TOLERANCE = 1e-9
PER_EVENTS = 10_000_000


@dataclass(frozen=True, slots=True)
class Run:
    """One measured process of one side at one scale."""

    side: str
    events: int
    repeat: int
    wall: float
    cpu: float
    rss_mib: float
    job: float | None
    numbers: Numbers
    load_before: float


def abkit_executable() -> str:
    """The `abkit` console script of this interpreter (not a version-manager shim)."""
    beside = Path(sysconfig.get_path("scripts")) / "abkit"
    found = str(beside) if beside.is_file() else shutil.which("abkit")
    if found is None:
        raise SystemExit("no `abkit` command: pip install -e . first")
    return found


def side_command(side: str, directory: Path, output: Path) -> list[str]:
    """The command line of one side's process."""
    if side == "abkit_cli":
        exp = str(directory / "exp.yaml")
        return [abkit_executable(), "analyze", exp, "-f", "json", "-o", str(output)]
    return [sys.executable, "-m", "bench.like_for_like.worker", side, str(directory),
            str(output)]  # fmt: skip


def measured_process(command: Sequence[str]) -> tuple[float, float, float]:
    """Run a command under measure.py: wall seconds, CPU seconds, peak RSS (MiB)."""
    path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    measurer = [sys.executable, "-m", "bench.like_for_like.measure", *command]
    done = subprocess.run(
        measurer,
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return float(figures["wall"]), float(figures["cpu"]), float(figures["rss_mib"])


def run_side(side: str, directory: Path, events: int, repeat: int) -> Run:
    """One fresh process of a side, measured, with the numbers it wrote."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "out.json"
        load = os.getloadavg()[0]
        wall, cpu, rss = measured_process(side_command(side, directory, output))
        report = json.loads(output.read_text(encoding="utf-8"))
    if side == "abkit_cli":
        return Run(
            side, events, repeat, wall, cpu, rss, None, abkit_numbers(report), load
        )
    return Run(side, events, repeat, wall, cpu, rss, float(report["job_seconds"]),
               report["numbers"], load)  # fmt: skip


def run_all(
    directories: dict[int, Path], sides: Sequence[str], repeats: int
) -> list[Run]:
    """Every side at every scale, `repeats` times, interleaved and rotated."""
    runs = []
    for repeat in range(repeats):
        order = [*sides[repeat % len(sides) :], *sides[: repeat % len(sides)]]
        for events, directory in directories.items():
            for side in order:
                run = run_side(side, directory, events, repeat)
                print(f"  repeat {repeat + 1} {format_count(events):>5} {side:<9} "
                      f"{run.wall:7.2f} s", file=sys.stderr, flush=True)  # fmt: skip
                runs.append(run)
    return runs


@dataclass(frozen=True, slots=True)
class Summary:
    """Medians of one side at one scale."""

    side: str
    events: int
    wall: float
    cpu: float
    rss_mib: float
    job: float | None


def summarise(runs: Sequence[Run]) -> list[Summary]:
    """Median wall, CPU, RSS and job seconds per (scale, side)."""
    keys = sorted({(r.events, SIDES.index(r.side), r.side) for r in runs})
    summaries = []
    for events, _, side in keys:
        own = [r for r in runs if (r.events, r.side) == (events, side)]
        jobs = [r.job for r in own if r.job is not None]
        summaries.append(Summary(
            side, events, statistics.median(r.wall for r in own),
            statistics.median(r.cpu for r in own),
            statistics.median(r.rss_mib for r in own),
            statistics.median(jobs) if jobs else None,
        ))  # fmt: skip
    return summaries


def ratio_table(summaries: Sequence[Summary]) -> str:
    """Per scale and side: medians and the ratios to the limit at that scale."""
    limits = {s.events: s for s in summaries if s.side == "limit"}
    lines = [
        "job: 5 KPIs (events, clicks, purchases, revenue, converted), CUPED on the "
        "14-day pre-period, over Parquet",
        f"{'scale':>6} {'side':<10} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8} "
        f"{'inner s':>7} {'wall ×':>7} {'CPU ×':>7} {'RSS ×':>6}",
    ]
    for s in summaries:
        limit = limits.get(s.events)
        ratios = (
            f"{s.wall / limit.wall:7.2f} {s.cpu / limit.cpu:7.2f} "
            f"{s.rss_mib / limit.rss_mib:6.2f}"
            if limit is not None
            else f"{'':>7} {'':>7} {'':>6}"
        )
        job = f"{s.job:7.2f}" if s.job is not None else f"{'—':>7}"
        lines.append(
            f"{format_count(s.events):>6} {s.side:<10} {s.wall:8.2f} {s.cpu:8.2f} "
            f"{s.rss_mib:8.0f} {job} {ratios}"
        )
    return "\n".join(lines)


def discrepancies(runs: Sequence[Run]) -> dict[tuple[int, str], Discrepancy]:
    """Per (scale, side): the largest relative difference of any run to the limit."""
    references = {r.events: r.numbers for r in runs if r.side == "limit"}
    worst: dict[tuple[int, str], Discrepancy] = {}
    for run in runs:
        if run.side == "limit" and run.numbers is references[run.events]:
            continue
        found = largest_difference(references[run.events], run.numbers)
        key = (run.events, run.side)
        if key not in worst or found.value > worst[key].value:
            worst[key] = found
    return worst


def check_report(worst: dict[tuple[int, str], Discrepancy]) -> tuple[str, bool]:
    """The equality check as text, and whether every side matched the limit."""
    lines = [f"numbers vs the limit (relative difference, tolerance {TOLERANCE:g}):"]
    for (events, side), gap in sorted(
        worst.items(), key=lambda i: (i[0][0], SIDES.index(i[0][1]))
    ):
        verdict = "ok" if gap.value < TOLERANCE else "MISMATCH"
        lines.append(
            f"  {format_count(events):>6} {side:<10} {gap.value:.2e} {verdict:<8} "
            f"(largest at {gap.kpi}.{gap.field}: {gap.reference:.12g} vs {gap.other:.12g})"
        )
    every = all(gap.value < TOLERANCE for gap in worst.values())
    return "\n".join(lines), every


def fit_lines(summaries: Sequence[Summary]) -> str:
    """Least squares per side: seconds = intercept + slope × events / 10M."""
    scales = sorted({s.events for s in summaries})
    if len(scales) < 2:
        return "fit: needs two or more --scales"
    lines = [
        "fit over " + ", ".join(format_count(e) for e in scales) + " (least squares):",
        f"  {'side':<10} {'wall s/10M':>10} {'intercept':>10} {'CPU s/10M':>10} "
        f"{'intercept':>10}",
    ]
    for side in dict.fromkeys(s.side for s in summaries):
        own = [s for s in summaries if s.side == side]
        x = np.array([s.events / PER_EVENTS for s in own])
        design = np.column_stack([np.ones_like(x), x])
        cells = []
        for y in (np.array([s.wall for s in own]), np.array([s.cpu for s in own])):
            intercept, slope = np.linalg.lstsq(design, y, rcond=None)[0]
            cells += [f"{slope:10.2f}", f"{intercept:10.2f}"]
        lines.append(f"  {side:<10} " + " ".join(cells))
    return "\n".join(lines)


def prepare(scales: Sequence[int], root: Path, seed: int) -> dict[int, Path]:
    """Generate (or reuse) the data of every scale; print time and size."""
    directories = {}
    for events in scales:
        directory = root / format_count(events)
        manifest, seconds = ensure_data(directory, events, seed)
        how = f"generated in {seconds:.1f} s" if seconds else "reused"
        print(f"data {format_count(events)}: {manifest.events_written:,} events, "
              f"{manifest.units:,} units, {data_bytes(directory) / 2**20:.0f} MiB, "
              f"{how} ({directory})")  # fmt: skip
        directories[events] = directory
    return directories


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1M", help="events, e.g. 10M,50M,100M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--root", type=Path, default=Path("/tmp/abkit-like-for-like"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check-only", action="store_true",
                        help="one run per side, print only the equality check")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every run here")
    return parser.parse_args()


def main() -> None:
    args = parse_arguments()
    sides = [s.strip() for s in args.sides.split(",")]
    if "limit" not in sides:
        sides.insert(0, "limit")
    scales = [parse_count(s) for s in args.scales.split(",")]
    directories = prepare(scales, args.root, args.seed)
    load_before = os.getloadavg()
    runs = run_all(directories, sides, 1 if args.check_only else args.repeats)
    load_after = os.getloadavg()
    text, matched = check_report(discrepancies(runs))
    if not args.check_only:
        summaries = summarise(runs)
        print(ratio_table(summaries))
        print(fit_lines(summaries))
    print(text)
    print("load average (1, 5, 15 min): before " + " ".join(f"{v:.2f}" for v in load_before)
          + ", after " + " ".join(f"{v:.2f}" for v in load_after))  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1))
    if not matched:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
