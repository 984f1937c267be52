"""Daily sequential looks: abkit against the fused-DuckDB limit, same job, same data.

    python -m bench.like_for_like.looks --scales 10M --repeats 3
    python -m bench.like_for_like.looks --scales 10M --check-only
    python -m bench.like_for_like.looks --scales 10M --profile     # abkit's queries

The job: the five KPIs of the like-for-like log, each over a 7-day window after
exposure (`window: {end_day: 7}`), CUPED-adjusted by its value over the 14 days
before exposure, monitored with a group-sequential test (O'Brien–Fleming-like
Lan–DeMets spending, α/2 per side, planned units = every assigned unit). Written
beside the data as `exp_looks.yaml` and `metrics_looks.yaml` (generate.py's files
are left alone). Each morning D holds the units whose window has ended
(exposure_key + 1 + 7 <= D); a morning with no new complete unit adds no look, so
exposures over 7 days give 7 looks.

The limit (`looks.sql`): per (variant, exposure day) sums, then per look the running
sums, the CUPED Welch finish of numbers.py, the fixed-horizon CI and z, and the
group-sequential bound from its own Armitage–McPherson–Rowe recursion (below,
independent of abkit's). abkit: `abkit.analyze(exp_looks.yaml).to_dict()["series"]`.

Every run is a fresh process under measure.py (run.py's `measured_process`); the
sides alternate, the order rotating per repeat; medians of the repeats. The numbers
of the looks must agree: the fixed-horizon fields to a relative 1e-9, the sequential
bound and interval to 1e-6 (the two recursions are different quadratures of the
same integral; abkit's own grid error is about 1e-8).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

from bench.like_for_like.generate import EXP_YAML, METRICS_YAML, format_count
from bench.like_for_like.numbers import CONTROL, KPIS, TREATMENT, ArmSums, arm_sums
from bench.like_for_like.numbers import cuped_welch as cuped_welch_finish

LOOKS_SQL = Path(__file__).with_name("looks.sql")
WINDOW_DAYS = 7
ALPHA = 0.05
SIDES = ("limit", "abkit_api", "abkit_quiet")
"""abkit_quiet: the same job with `novelty_view: false` (no day-since-exposure view)."""
EXACT_FIELDS = (
    "n_control",
    "n_treatment",
    "control_mean",
    "difference",
    "standard_error",
    "ci_lower",
    "ci_upper",
    "relative",
    "relative_ci_lower",
    "relative_ci_upper",
    "information",
    "z",
)
BOUND_FIELDS = ("z_bound", "sequential_lower", "sequential_upper")
EXACT_TOLERANCE, BOUND_TOLERANCE = 1e-9, 1e-6
GRID_POINTS = 501
MIN_UNITS_PER_ARM = 100  # abkit skips smaller looks (normal approximation)

Look = dict[str, Any]
LookNumbers = dict[str, list[Look]]
"""KPI -> its looks in order: {"day": ISO date, field: value, ...}."""


# --- the job's YAML ---------------------------------------------------------------


def write_job(directory: Path, planned_units: int) -> Path:
    """exp_looks.yaml (and its quiet copy) and metrics_looks.yaml beside the data."""
    windowed = METRICS_YAML.replace(
        "    format:", f"    window: {{end_day: {WINDOW_DAYS}}}\n    format:"
    ).replace(
        "No window: every event from the\n# unit's exposure on counts.",
        f"Each counts the {WINDOW_DAYS} days from the\n# unit's exposure.",
    )
    exp = EXP_YAML.replace(
        "metrics_file: metrics.yaml", "metrics_file: metrics_looks.yaml"
    ).replace("name: like_for_like", "name: like_for_like_looks")
    exp += (
        "sequential:\n  method: gst\n  spending: obf\n  convention: per-side\n"
        f"  planned_units: {planned_units}\n"
    )
    (directory / "metrics_looks.yaml").write_text(windowed, encoding="utf-8")
    path = directory / "exp_looks.yaml"
    path.write_text(exp, encoding="utf-8")
    quiet = exp.replace("name: like_for_like_looks", "name: like_for_like_quiet")
    (directory / "exp_looks_quiet.yaml").write_text(
        quiet + "novelty_view: false\n", encoding="utf-8"
    )
    return path


def planned_units(directory: Path) -> int:
    """Every assigned unit (the manifest's count): the final look's sample."""
    return int(json.loads((directory / "manifest.json").read_text())["units"])


# --- the limit ----------------------------------------------------------------------


def quoted(path: Path) -> str:
    """A single-quoted SQL string literal of a path."""
    return "'" + str(path).replace("'", "''") + "'"


def limit_rows(directory: Path) -> list[dict[str, Any]]:
    """looks.sql's rows: one per variant x exposure key."""
    import duckdb

    sql = Template(LOOKS_SQL.read_text(encoding="utf-8")).substitute(
        assignments=quoted(directory / "assignments.parquet"),
        events=quoted(directory / "events.parquet"),
    )
    with duckdb.connect(":memory:") as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def cumulative_arms(
    rows: Sequence[Mapping[str, Any]], kpi: str
) -> list[tuple[dt.date, ArmSums, ArmSums]]:
    """Per look morning (key + 1 + window, in order): control and treatment so far."""
    keys = sorted({row["exposure_key"] for row in rows})
    cells = {(row["variant"], row["exposure_key"]): arm_sums(row, kpi) for row in rows}
    empty = ArmSums(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    running = {CONTROL: empty, TREATMENT: empty}
    looks = []
    for key in keys:
        for variant in running:
            running[variant] += cells.get((variant, key), empty)
        day = key + dt.timedelta(days=1 + WINDOW_DAYS)
        looks.append((day, running[CONTROL], running[TREATMENT]))
    return looks


def look_numbers(control: ArmSums, treatment: ArmSums) -> Look:
    """One look's fixed-horizon numbers: CUPED Welch, its CI, the lift's, z."""
    from scipy import special

    tested = cuped_welch_finish(control, treatment)
    mean_c, mean_t = tested["control_mean"], tested["treatment_mean"]
    var_c, var_t = tested["control_mean_variance"], tested["treatment_mean_variance"]
    difference, se = tested["difference"], math.sqrt(var_c + var_t)
    quantile = float(special.stdtrit(tested["df"], 1 - ALPHA / 2))
    scale = abs(mean_c)
    lift_se = math.hypot(math.sqrt(var_t), abs(mean_t / scale) * math.sqrt(var_c))
    relative = difference / scale
    return {
        "n_control": float(control.n),
        "n_treatment": float(treatment.n),
        "control_mean": mean_c,
        "difference": difference,
        "standard_error": se,
        "ci_lower": difference - quantile * se,
        "ci_upper": difference + quantile * se,
        "relative": relative,
        "relative_ci_lower": relative - quantile * lift_se / scale,
        "relative_ci_upper": relative + quantile * lift_se / scale,
        "information": 1 / se**2,
        "z": difference / se,
    }


@functools.lru_cache(maxsize=16)
def obf_bounds(fractions: tuple[float, ...], alpha: float = ALPHA) -> list[float]:
    """|z| bounds of Lan–DeMets O'Brien–Fleming-like spending, α/2 per side.

    Each side spends f(t) = 2 − 2Φ(z_{1−α/4}/√t), so both together α(t) = 2f(t)
    (t clipped at 1). The sub-density of S_k = Z_k√t_k on the continuation region
    (−c_k√t_k, c_k√t_k) is carried from look to look on a Simpson grid of
    `GRID_POINTS` (Armitage, McPherson & Rowe 1969); c_k solves P(first crossing at
    k) = α(t_k) − α(t_{k−1}). Written from the formulas, not from abkit's code;
    every KPI has the same fractions, so the bounds are computed once (cached).
    The fractions must increase strictly and spend alpha at every look (here each
    look adds units and only the last reaches t = 1).
    """
    import numpy as np
    from scipy import optimize, special

    def spent(t: float) -> float:
        z = special.ndtri(1 - alpha / 4) / math.sqrt(min(t, 1.0))
        return float(4 * special.ndtr(-z))

    bounds = [float(-special.ndtri(spent(fractions[0]) / 2))]
    nodes, mass, time_before = np.zeros(1), np.ones(1), 0.0
    for t_last, t in itertools.pairwise(fractions):
        # the sub-density at the last look, on its continuation region
        edge = bounds[-1] * math.sqrt(t_last)
        grid = np.linspace(-edge, edge, GRID_POINTS)
        weights = np.full(GRID_POINTS, 2.0)
        weights[1::2], weights[[0, -1]] = 4.0, 1.0
        step = t_last - time_before
        kernel = np.exp(-0.5 * (grid[:, None] - nodes[None, :]) ** 2 / step)
        scale = (grid[1] - grid[0]) / 3 / math.sqrt(2 * math.pi * step)
        nodes, mass, time_before = grid, (kernel @ mass) * weights * scale, t_last
        target, sd = spent(t) - spent(t_last), math.sqrt(t - t_last)

        def excess(c: float, t: float = t, sd: float = sd, target: float = target,
                   nodes: Any = nodes, mass: Any = mass) -> float:  # fmt: skip
            b = c * math.sqrt(t)
            tails = special.ndtr((nodes - b) / sd) + special.ndtr((-b - nodes) / sd)
            return float(mass @ tails) - target

        bounds.append(float(optimize.brentq(excess, 0.5, 20.0, xtol=1e-14)))
    return bounds


def series_numbers(rows: Sequence[Mapping[str, Any]], planned: int) -> LookNumbers:
    """Every KPI's looks: fixed-horizon numbers, then the sequential bound and CI."""
    last_look = rows[0]["last_event"].date() + dt.timedelta(days=1)
    numbers: LookNumbers = {}
    for kpi in KPIS:
        looks: list[Look] = []
        for day, control, treatment in cumulative_arms(rows, kpi):
            if day > last_look or min(control.n, treatment.n) < MIN_UNITS_PER_ARM:
                continue
            if looks and control.n + treatment.n == looks[-1]["n_total"]:
                continue
            found = look_numbers(control, treatment)
            looks.append(
                {"day": day.isoformat(), "n_total": control.n + treatment.n} | found
            )
        fractions = [look.pop("n_total") / planned for look in looks]
        for look, bound in zip(
            looks, obf_bounds(tuple(fractions)) if looks else [], strict=True
        ):
            look["z_bound"] = bound
            look["sequential_lower"] = (
                look["difference"] - bound * look["standard_error"]
            )
            look["sequential_upper"] = (
                look["difference"] + bound * look["standard_error"]
            )
        numbers[kpi] = looks
    return numbers


def limit_numbers(directory: Path) -> LookNumbers:
    """The limit's looks for a data directory (looks.sql, then the finish above)."""
    return series_numbers(limit_rows(directory), planned_units(directory))


# --- abkit --------------------------------------------------------------------------


def abkit_look_numbers(payload: Mapping[str, Any]) -> LookNumbers:
    """The same fields from abkit's JSON payload (`result.to_dict()["series"]`)."""
    numbers: LookNumbers = {}
    for series in payload["series"]:
        if series["variant"] != TREATMENT:
            continue
        if series["method"] != "gst":
            raise ValueError(
                f"abkit's series of {series['metric']} is not GST: {series}"
            )
        numbers[series["metric"]] = [
            {"day": look["day"]}
            | {field: float(look[field]) for field in (*EXACT_FIELDS, *BOUND_FIELDS)}
            for look in series["looks"]
        ]
    missing = [kpi for kpi in KPIS if kpi not in numbers]
    if missing:
        raise ValueError(f"abkit's payload has no daily series for {missing}")
    return numbers


def abkit_api_numbers(directory: Path) -> LookNumbers:
    """abkit.analyze on exp_looks.yaml, read back from `to_dict()`."""
    import abkit

    exp = directory / "exp_looks.yaml"
    return abkit_look_numbers(abkit.analyze(exp).to_dict())


def abkit_quiet_numbers(directory: Path) -> LookNumbers:
    """abkit.analyze on exp_looks_quiet.yaml (no day-since-exposure view)."""
    import abkit

    exp = directory / "exp_looks_quiet.yaml"
    return abkit_look_numbers(abkit.analyze(exp).to_dict())


# --- comparing ----------------------------------------------------------------------


def largest_gaps(
    reference: LookNumbers, other: LookNumbers
) -> dict[str, tuple[float, str]]:
    """Largest relative difference of the exact and the bound fields, and where.

    Different look days or counts of looks are an infinite difference.
    """
    from bench.like_for_like.numbers import relative_difference

    gaps = {"exact": (0.0, ""), "bound": (0.0, "")}
    for kpi in KPIS:
        days = [[look["day"] for look in side[kpi]] for side in (reference, other)]
        if days[0] != days[1]:
            return {"exact": (math.inf, f"{kpi} look days {days[0]} vs {days[1]}")} | {
                "bound": (math.inf, kpi)
            }
        for first, second in zip(reference[kpi], other[kpi], strict=True):
            for kind, fields in (("exact", EXACT_FIELDS), ("bound", BOUND_FIELDS)):
                for field in fields:
                    gap = relative_difference(first[field], second[field])
                    if field.startswith("sequential_"):  # a bound's error, not a sum's
                        half = first["z_bound"] * first["standard_error"]
                        gap = min(gap, abs(first[field] - second[field]) / half)
                    if gap > gaps[kind][0]:
                        pair = f"{first[field]:.12g} vs {second[field]:.12g}"
                        where = f"{kpi} {first['day']} {field}: {pair}"
                        gaps[kind] = (gap, where)
    return gaps


def matches(gaps: Mapping[str, tuple[float, str]]) -> bool:
    """Whether the gaps are within their tolerances."""
    return gaps["exact"][0] < EXACT_TOLERANCE and gaps["bound"][0] < BOUND_TOLERANCE


# --- running the sides ----------------------------------------------------------------

WORKER_SIDES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "limit": (
        ("duckdb", "numpy", "scipy.special", "scipy.optimize"),
        "bench.like_for_like.looks",
        "limit_numbers",
    ),
    "abkit_api": (
        ("abkit.analysis.run",),
        "bench.like_for_like.looks",
        "abkit_api_numbers",
    ),
    "abkit_quiet": (
        ("abkit.analysis.run",),
        "bench.like_for_like.looks",
        "abkit_quiet_numbers",
    ),
}
"""worker.py's side table for this job: (libraries imported before the timer, module,
function). worker.run_job runs them; this module's `--side` is the process entry."""


def run_in_this_process(side: str, directory: Path, output: Path) -> None:
    """One side's job through worker.run_job, its numbers and job seconds to `output`."""
    from bench.like_for_like import worker

    worker.SIDES.update(WORKER_SIDES)
    report = worker.run_job(side, directory)
    output.write_text(json.dumps(report), encoding="utf-8")


def run_side(side: str, directory: Path) -> dict[str, Any]:
    """A fresh process of one side under measure.py: figures, job seconds, numbers."""
    from bench.like_for_like.run import measured_process

    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "out.json"
        command = [sys.executable, "-m", "bench.like_for_like.looks", "--side", side,
                   str(directory), str(output)]  # fmt: skip
        load = os.getloadavg()[0]
        wall, cpu, rss = measured_process(command)
        report = json.loads(output.read_text(encoding="utf-8"))
    return {"side": side, "wall": wall, "cpu": cpu, "rss_mib": rss, "load": load,
            "job": float(report["job_seconds"]), "numbers": report["numbers"]}  # fmt: skip


def run_all(directories: Mapping[int, Path], repeats: int) -> list[dict[str, Any]]:
    """Both sides at every scale, `repeats` times, interleaved, the order rotating."""
    runs = []
    for repeat in range(repeats):
        order = SIDES[repeat % 2 :] + SIDES[: repeat % 2]
        for events, directory in directories.items():
            for side in order:
                run = run_side(side, directory) | {"events": events, "repeat": repeat}
                print(f"  repeat {repeat + 1} {format_count(events):>5} {side:<9} "
                      f"{run['wall']:7.2f} s", file=sys.stderr, flush=True)  # fmt: skip
                runs.append(run)
    return runs


def table(runs: Sequence[Mapping[str, Any]]) -> tuple[str, bool]:
    """Medians per scale and side, ratios to the limit, and the numbers' agreement."""
    lines = [
        "job: daily looks of 5 KPIs over 7-day windows, CUPED, GST (OBF spending)",
        f"{'scale':>6} {'side':<10} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8} "
        f"{'inner s':>7} {'wall ×':>7} {'CPU ×':>7} {'RSS ×':>6} {'looks':>5}  "
        "largest gap (exact / bound)",
    ]
    every = True
    for events in sorted({r["events"] for r in runs}):
        own = [r for r in runs if r["events"] == events]
        reference = next(r for r in own if r["side"] == "limit")["numbers"]
        medians = {
            side: {key: statistics.median(r[key] for r in own if r["side"] == side)
                   for key in ("wall", "cpu", "rss_mib", "job")}
            for side in SIDES
        }  # fmt: skip
        for side in SIDES:
            m, base = medians[side], medians["limit"]
            gaps = [
                largest_gaps(reference, r["numbers"]) for r in own if r["side"] == side
            ]
            worst = {kind: max(g[kind][0] for g in gaps) for kind in ("exact", "bound")}
            every &= all(matches(g) for g in gaps)
            looks = len(own[0]["numbers"]["events"])
            lines.append(
                f"{format_count(events):>6} {side:<10} {m['wall']:8.2f} {m['cpu']:8.2f} "
                f"{m['rss_mib']:8.0f} {m['job']:7.2f} {m['wall'] / base['wall']:7.2f} "
                f"{m['cpu'] / base['cpu']:7.2f} {m['rss_mib'] / base['rss_mib']:6.2f} "
                f"{looks:>5}  {worst['exact']:.1e} / {worst['bound']:.1e}"
            )
    verdict = "equal" if every else "MISMATCH"
    lines.append(f"numbers {verdict} (exact fields < {EXACT_TOLERANCE:g}, "
                 f"bounds < {BOUND_TOLERANCE:g})")  # fmt: skip
    return "\n".join(lines), every


# --- profiling abkit's run --------------------------------------------------------------


def since(begun: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since `begun` (perf_counter, process_time)."""
    return time.perf_counter() - begun[0], time.process_time() - begun[1]


def profile_abkit(directory: Path) -> list[tuple[str, float, float]]:
    """Wall and CPU seconds of each step of one abkit.analyze, in this process.

    Each query abkit runs (the column checks, the NaN check, then every query of
    `analysis_queries`) is timed where it runs (`DuckDBEngine.query`), the result
    assembly (`build_result`) around it; then the limit's query alone, for scale.
    """
    started = time.perf_counter(), time.process_time()  # CPU: every thread
    from abkit.analysis import run
    from abkit.analysis.query_plan import analysis_queries
    from abkit.config import load_experiment
    from abkit.engines.duckdb import DuckDBEngine

    steps = [("import abkit.analysis", *since(started))]
    exp = directory / "exp_looks.yaml"
    names = {sql: name for name, sql in analysis_queries(load_experiment(exp)).items()}

    def timed(
        name: Callable[[Any], str], function: Callable[..., Any]
    ) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            begun = time.perf_counter(), time.process_time()
            value = function(*args)
            steps.append((name(args), *since(begun)))
            return value

        return wrapper

    def query_name(args: Any) -> str:
        return "query " + names.get(args[1], "check: " + " ".join(args[1].split())[:50])

    DuckDBEngine.query = timed(query_name, DuckDBEngine.query)  # type: ignore[method-assign]
    run.build_result = timed(lambda _: "build_result (statistics)", run.build_result)  # type: ignore[attr-defined]
    timed(lambda _: "abkit.analyze, in all", run.analyze)(exp)
    import duckdb  # noqa: F401  (loaded already by abkit: not part of the limit's time)

    timed(lambda _: "the limit's looks.sql, for scale", limit_rows)(directory)
    return steps


# --- main -------------------------------------------------------------------------------


def prepare(scales: Sequence[int], root: Path, seed: int) -> dict[int, Path]:
    """Generate (or reuse) each scale's data and write the job's YAML beside it."""
    from bench.like_for_like.run import prepare as prepare_data

    directories = prepare_data(scales, root, seed)
    for directory in directories.values():
        write_job(directory, planned_units(directory))
    return directories


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1M", help="events, e.g. 10M,50M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path("/tmp/abkit-like-for-like"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check-only", action="store_true", help="one run per side")
    parser.add_argument("--profile", action="store_true",
                        help="time abkit's queries (first scale, this process)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every run here")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_arguments()
    if args.side:  # a worker process: DIR OUT
        run_in_this_process(args.side, *args.paths)
        return
    from bench.like_for_like.generate import parse_count

    directories = prepare([parse_count(s) for s in args.scales.split(",")], args.root,
                          args.seed)  # fmt: skip
    if args.profile:
        print(f"{'wall s':>8} {'CPU s':>8}  step")
        for step, wall, cpu in profile_abkit(next(iter(directories.values()))):
            print(f"{wall:8.3f} {cpu:8.3f}  {step}")
        return
    load_before = os.getloadavg()
    runs = run_all(directories, 1 if args.check_only else args.repeats)
    load_after = os.getloadavg()
    text, matched = table(runs)
    print(text)
    print("load average (1, 5, 15 min): before " + " ".join(f"{v:.2f}" for v in load_before)
          + ", after " + " ".join(f"{v:.2f}" for v in load_after))  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=1))
    if not matched:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
