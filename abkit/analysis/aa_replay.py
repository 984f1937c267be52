"""A/A replay: how often each test rejects when the experiment's own units are re-split.

Every exposed unit is re-assigned to a pseudo-arm A or B by a seeded hash of its
randomization unit (the `data.assignments.cluster` column when exp.yaml names one,
else the unit), `runs` times, in one SQL scan (queries/aa_replay.sql). No treatment
separates A from B, so a calibrated test rejects in a share α of the runs. For each
metric and each test — the fixed-horizon test, CUPED, and a sequential test under
daily looks (the asymptotic confidence sequence, always valid) — the empirical
false-positive rate gets an exact (Clopper–Pearson) band; a band that excludes α
flags the metric: heavy tails at this sample size, or a metric analysed at a finer
unit than the one randomized (the replay moves whole clusters, the test assumes
independent units).

Quantile metrics are replayed by a second query (queries/aa_replay_quantiles.sql,
the same re-assignment): per run and pseudo-arm the quantile and the order
statistics its interval needs, then the scorecard's own test (outer CI or
Price–Bonett, `abkit.analysis.quantiles.compare_quantiles`) under `fixed_horizon`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from abkit.aggregates.moments import JointMoments
from abkit.aggregates.rows import joint_moments
from abkit.analysis.comparison import compare, unadjusted_test
from abkit.analysis.quantiles import compare_quantiles, quantile_arm
from abkit.analysis.queries import locked_engine, query_frame
from abkit.analysis.text import aligned
from abkit.config import Experiment, Metric, load_experiment
from abkit.sql.quantiles import quantile_metrics
from abkit.sql.replay import render_aa_replay_quantiles_sql, render_aa_replay_sql
from abkit.sql.variables import MetricVariables, experiment_variables
from abkit.stats.delta import ratio_estimate
from abkit.stats.quantile import QuantileArm
from abkit.stats.rates import EmpiricalRate, empirical_rate
from abkit.stats.sequential import asymptotic_cs_test

ReplayTest = Literal["fixed_horizon", "cuped", "sequential"]
MIN_UNITS_PER_LOOK = 30
BAND_LEVEL = 0.99


NOT_REPLAYED = (
    "quantile metric, not replayed: the quantile replay query's rows were not given"
)
"""What `replay_result` says of each quantile metric without replay rows."""

QUANTILE_REPLAYED = (
    "quantile metric, replayed with the scorecard's test ({interval}) at the fixed "
    "horizon only: CUPED and sequential tests do not apply to quantiles"
)
"""What the replay says of each quantile metric it re-tests."""


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One metric's empirical false-positive rate under one test."""

    metric: str
    test: ReplayTest
    rate: EmpiricalRate

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        rate = self.rate
        return {
            "metric": self.metric,
            "test": self.test,
            "runs": rate.trials,
            "rejections": rate.rejections,
            "rate": rate.rate,
            "ci_lower": rate.ci_lower,
            "ci_upper": rate.ci_upper,
            "level": rate.level,
            "nominal": rate.nominal,
            "status": rate.status,
            "flagged": rate.flagged,
        }


@dataclass(frozen=True, slots=True)
class AaReplayResult:
    """The A/A replay of one experiment: a rate per metric × test."""

    experiment: str
    runs: int
    seed: int
    alpha: float
    randomization_unit: str
    rows: tuple[ReplayRow, ...]
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> tuple[ReplayRow, ...]:
        """Rows whose band excludes α."""
        return tuple(row for row in self.rows if row.rate.flagged)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "experiment": self.experiment,
            "runs": self.runs,
            "seed": self.seed,
            "alpha": self.alpha,
            "randomization_unit": self.randomization_unit,
            "rows": [row.to_dict() for row in self.rows],
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        """The replay as an aligned table with a verdict per row."""
        head = (
            f"A/A replay of {self.experiment}: {self.runs} re-assignments by "
            f"{self.randomization_unit} (seed {self.seed}), α = {self.alpha:g}, "
            f"{self.rows[0].rate.level:.0%} Clopper–Pearson band"
            if self.rows
            else f"A/A replay of {self.experiment}: no testable metric"
        )
        table = [["metric", "test", "false positives", "rate [band]", "verdict"]]
        table += [_row_cells(row) for row in self.rows]
        lines = [head, *aligned(table)]
        lines += [f"note: {name}: {NOT_REPLAYED}" for name in self.skipped]
        lines += [f"note: {text}" for text in self.notes]
        return "\n".join(lines) + "\n"


def _row_cells(row: ReplayRow) -> list[str]:
    rate = row.rate
    verdict = {
        "ok": "ok",
        "too_many_rejections": "OFF: too many false positives",
        "too_few_rejections": "off: conservative",
        "no_runs": "n/a",
    }[rate.status]
    return [
        row.metric,
        row.test.replace("_", " "),
        f"{rate.rejections}/{rate.trials}",
        f"{rate.rate:.1%} [{rate.ci_lower:.1%}, {rate.ci_upper:.1%}]",
        verdict,
    ]


def aa_replay(
    experiment: Experiment | str | Path,
    *,
    runs: int = 200,
    seed: int = 0,
    con: duckdb.DuckDBPyConnection | None = None,
) -> AaReplayResult:
    """Re-split the experiment's units `runs` times and count false positives.

    Raises:
        AbkitError: bad configuration, data or arguments, with the fix.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    sql = render_aa_replay_sql(experiment, runs, seed)
    quantile_sql = render_aa_replay_quantiles_sql(experiment, runs, seed)
    with locked_engine(experiment, con) as engine:
        frame = query_frame(engine, sql)
        quantiles = None if quantile_sql is None else query_frame(engine, quantile_sql)
    return replay_result(experiment, frame, runs, seed, quantiles)


def replay_result(
    experiment: Experiment,
    frame: pd.DataFrame,
    runs: int,
    seed: int,
    quantiles: pd.DataFrame | None = None,
) -> AaReplayResult:
    """Count each test's rejections over the runs of the replay queries (no IO)."""
    plans = [p for p in experiment_variables(experiment) if p.metric.kind != "quantile"]
    tests = _tests(experiment)
    counts = {(p.metric.name, t): [0, 0] for p in plans for t in tests}
    planned = _planned_units(experiment, frame)
    for arms, daily in _runs(frame, plans):
        if "A" not in arms or "B" not in arms:
            continue
        for plan in plans:
            for test in tests:
                outcome = _rejects(experiment, plan, test, arms, daily, planned)
                if outcome is not None:
                    tally = counts[(plan.metric.name, test)]
                    tally[0] += int(outcome)
                    tally[1] += 1
    rows_out = tuple(
        ReplayRow(
            name,
            test,
            empirical_rate(
                k, n, experiment.alpha, BAND_LEVEL, at_most=test == "sequential"
            ),
        )
        for (name, test), (k, n) in counts.items()
    )
    unit = experiment.data.assignments.cluster or experiment.data.assignments.unit_id
    replayed = quantile_metrics(experiment)
    if quantiles is None:
        skipped = tuple(m.name for m in replayed)
        return AaReplayResult(
            experiment.name, runs, seed, experiment.alpha, unit, rows_out, skipped
        )
    quantile_rows = tuple(
        ReplayRow(name, "fixed_horizon",
                  empirical_rate(k, n, experiment.alpha, BAND_LEVEL))
        for name, (k, n) in _quantile_counts(experiment, quantiles).items()
    )  # fmt: skip
    notes = tuple(
        f"{m.name}: " + QUANTILE_REPLAYED.format(interval=_interval_name(m))
        for m in replayed
    )
    return AaReplayResult(experiment.name, runs, seed, experiment.alpha, unit,
                          rows_out + quantile_rows, notes=notes)  # fmt: skip


def _interval_name(metric: Metric) -> str:
    return "Price–Bonett" if metric.interval == "price_bonett" else "outer CI"


def _quantile_counts(
    experiment: Experiment, frame: pd.DataFrame
) -> dict[str, list[int]]:
    """Per quantile metric: [rejections, runs tested] over the replay's runs."""
    metrics = {m.name: m for m in quantile_metrics(experiment)}
    counts = {name: [0, 0] for name in metrics}
    by_run: dict[tuple[str, int], dict[str, QuantileArm]] = {}
    for row in frame.to_dict("records"):
        key = (str(row["metric"]), int(row["run"]))
        by_run.setdefault(key, {})[str(row["variant"])] = quantile_arm(row)
    for (name, _), arms in sorted(by_run.items()):
        if name not in metrics or "A" not in arms or "B" not in arms:
            continue
        effect, _ = compare_quantiles(
            metrics[name], arms["A"], arms["B"], experiment.alpha
        )
        if math.isnan(effect.pvalue):
            continue
        counts[name][0] += int(effect.pvalue < experiment.alpha)
        counts[name][1] += 1
    return counts


Arms = dict[str, dict[str, JointMoments]]
Daily = dict[str, list[tuple[Any, dict[str, JointMoments]]]]


def _runs(
    frame: pd.DataFrame, plans: Sequence[MetricVariables]
) -> list[tuple[Arms, Daily]]:
    """Per run: pseudo-arm → metric moments, overall and per exposure day (sorted)."""
    runs: dict[int, tuple[Arms, Daily]] = {}
    ordered = frame.sort_values(["run", "exposure_key"], na_position="first")
    for row in ordered.to_dict("records"):
        arms, daily = runs.setdefault(int(row["run"]), ({}, {}))
        moments = {plan.metric.name: joint_moments(row, plan) for plan in plans}
        day = row["exposure_key"]
        if day is None or day is pd.NaT or (isinstance(day, float) and math.isnan(day)):
            arms[str(row["variant"])] = moments
        else:
            daily.setdefault(str(row["variant"]), []).append((day, moments))
    return list(runs.values())


def _tests(experiment: Experiment) -> tuple[ReplayTest, ...]:
    if experiment.cuped.enabled:
        return ("fixed_horizon", "cuped", "sequential")
    return ("fixed_horizon", "sequential")


def _planned_units(experiment: Experiment, frame: pd.DataFrame) -> float:
    """N* of the confidence sequence: exp.yaml's plan, else the units replayed."""
    if experiment.sequential is not None:
        return float(experiment.sequential.planned_units)
    overall = frame[frame["exposure_key"].isna()]
    return float(overall["n_units"].sum()) / max(int(overall["run"].nunique()), 1)


def _rejects(
    experiment: Experiment,
    plan: MetricVariables,
    test: ReplayTest,
    arms: Mapping[str, Mapping[str, JointMoments]],
    daily: Mapping[str, Sequence[tuple[Any, Mapping[str, JointMoments]]]],
    planned: float,
) -> bool | None:
    """Whether one test rejects in one run; None when it cannot run."""
    metric, alpha = plan.metric, experiment.alpha
    a, b = arms["A"][metric.name], arms["B"][metric.name]
    if test == "fixed_horizon":
        effect = unadjusted_test(metric, a, b, alpha)
    elif test == "cuped":
        if not metric.cuped:
            return None
        effect = compare(metric, a, b, alpha, experiment.cuped).effect
    else:
        return _sequential_rejects(metric, daily, alpha, planned)
    if math.isnan(effect.pvalue):
        return None
    return bool(effect.pvalue < alpha)


def _difference(
    metric: Metric, a: JointMoments, b: JointMoments
) -> tuple[float, float]:
    """B − A and its standard error, as the metric's plain test estimates them."""
    if metric.kind == "ratio":
        arm_a, arm_b = (
            ratio_estimate(a, "value", "den"),
            ratio_estimate(b, "value", "den"),
        )
        return arm_b.mean - arm_a.mean, math.sqrt(
            arm_a.mean_variance + arm_b.mean_variance
        )
    ma, mb = a.marginal("value"), b.marginal("value")
    if metric.is_binary:
        variance = ma.mean * (1 - ma.mean) / ma.n + mb.mean * (1 - mb.mean) / mb.n
        return mb.mean - ma.mean, math.sqrt(variance)
    return mb.mean - ma.mean, math.sqrt(ma.mean_variance + mb.mean_variance)


def _sequential_rejects(
    metric: Metric,
    daily: Mapping[str, Sequence[tuple[Any, Mapping[str, JointMoments]]]],
    alpha: float,
    planned: float,
) -> bool | None:
    """The confidence sequence over daily cumulative looks rejects at some look."""
    by_day: dict[Any, dict[str, JointMoments]] = {}
    for arm in ("A", "B"):
        for day, metrics in daily.get(arm, ()):
            by_day.setdefault(day, {})[arm] = metrics[metric.name]
    totals: dict[str, JointMoments] = {}
    estimates, errors, sizes = [], [], []
    for day in sorted(by_day):
        for arm, moments in by_day[day].items():
            totals[arm] = totals[arm] + moments if arm in totals else moments
        if len(totals) < 2 or min(t.n for t in totals.values()) < MIN_UNITS_PER_LOOK:
            continue
        difference, se = _difference(metric, totals["A"], totals["B"])
        if not se > 0 or math.isnan(difference):
            continue
        estimates.append(difference)
        errors.append(se)
        sizes.append(float(totals["A"].n + totals["B"].n))
    if not estimates:
        return None
    return asymptotic_cs_test(estimates, errors, sizes, planned, alpha).crossed
