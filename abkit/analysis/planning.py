"""Power and duration planning on the experiment's own history (STATS.md §7).

Each metric's variance, its CUPED variance reduction and the daily traffic are
estimated from the data before exposure: the same fused query as the analysis,
with every window moved back so it ends at exposure (no treatment can have
touched it). The sample size then comes from `abkit.stats.power`, inflated for the
sequential design in use and, when clusters are randomized, for each metric's design
effect (`abkit.analysis.cluster_plan`). Quantile metrics are not sized: their
variance needs the density at the quantile, which the sums do not give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from abkit.aggregates.moments import JointMoments
from abkit.aggregates.rows import Rows, read_moments
from abkit.analysis.cluster_plan import (
    cluster_history,
    cluster_plan_lines,
    clustered_counts,
    history_cluster_arms,
    history_clusters,
)
from abkit.analysis.clusters import ClusterArms
from abkit.analysis.queries import locked_engine, query_frame, query_rows
from abkit.analysis.text import aligned, format_share_removed, format_value
from abkit.config import Experiment, Metric, load_experiment
from abkit.errors import ConfigError, DataError
from abkit.sql.clusters import render_cluster_sql
from abkit.sql.dialects import transpile
from abkit.sql.render import render_analysis_sql, render_daily_exposures_sql
from abkit.sql.variables import experiment_variables
from abkit.stats.cuped import cuped_adjust, cuped_ratio_adjust
from abkit.stats.delta import ratio_variance
from abkit.stats.distributions import normal_ppf
from abkit.stats.power import (
    Design,
    MetricModel,
    PowerResult,
    duration_days,
    mde_for_duration,
    sample_size,
)
from abkit.stats.sequential import asymptotic_cs_halfwidth, gst_inflation

if TYPE_CHECKING:  # pandas is imported only where a frame is built
    import pandas as pd

DEFAULT_MDE = 0.05
"""Relative MDE planned for when neither exp.yaml's decision nor the caller sets one."""


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One metric's plan: its history, the size for the target MDE, the MDE in time."""

    metric: str
    kind: str
    baseline: float
    std: float
    variance_reduction: float
    mde: float
    n_per_arm: int
    n_total: int
    days: int
    mde_in_days: float
    status: str = "ok"
    format: str = "number"
    underpowered: bool = False
    """The target MDE needs more units than the plan has (see `underpowered_lines`)."""
    design_effect: float = math.nan
    """1 + (m − 1)·ICC the unit counts are multiplied by (NaN: units randomized)."""
    icc: float = math.nan
    units_per_cluster: float = math.nan
    n_clusters: int = 0
    """Clusters needed over all arms (0 when units are randomized)."""


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Sample sizes and durations for every metric of an experiment."""

    experiment: str
    rows: tuple[PlanRow, ...]
    daily_units: float
    days: int
    alpha: float
    power: float
    comparisons: int
    inflation: float
    sequential: str
    history: str
    planned_units: float = math.nan
    """Units the experiment plans for: sequential.planned_units, else `days` of traffic."""
    cluster: str | None = None
    """The randomization column of a cluster-randomized design."""
    history_clusters: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per metric."""
        import pandas as pd

        frame: pd.DataFrame = pd.DataFrame([asdict(row) for row in self.rows])
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)

    def __str__(self) -> str:
        """The plan as plain text: the design, then one aligned row per metric."""
        return "\n".join(plan_lines(self)) + "\n"


PLAN_HEADERS = ("metric", "baseline", "std", "CUPED variance", "units / arm",
                "units total", "days")  # fmt: skip
"""The plan's columns, before the last one (the MDE reachable in the planned days)."""


def plan_title(plan: PlanResult) -> str:
    """The plan's one-line design: target lift, α, power, sequential inflation, traffic."""
    if not plan.rows:
        return plan.experiment
    return (
        f"{plan.experiment}: plan for a {plan.rows[0].mde:+.1%} relative lift "
        f"(α {plan.alpha:g} over {plan.comparisons} comparison(s), power {plan.power:.0%}, "
        f"{plan.sequential}, inflation ×{plan.inflation:.3f}); "
        f"{plan.daily_units:,.0f} new units a day"
    )


def plan_cells(row: PlanRow) -> list[str]:
    """One metric's plan cells in the order of `PLAN_HEADERS` plus the MDE column."""
    if row.status != "ok":
        return [row.metric, *["–"] * 6, row.status]
    reachable = f"{row.mde_in_days:+.1%}" + (
        " (underpowered)" if row.underpowered else ""
    )
    return [
        row.metric, format_value(row.baseline, row.format), f"{row.std:.4g}",
        format_share_removed(row.variance_reduction), f"{row.n_per_arm:,}",
        f"{row.n_total:,}", f"{row.days:,}", reachable,
    ]  # fmt: skip


def underpowered_lines(plan: PlanResult) -> list[str]:
    """A plain warning for each metric that cannot reach its MDE in the planned time."""
    if not math.isfinite(plan.planned_units) or plan.daily_units <= 0:
        return []
    short = [row for row in plan.rows if row.underpowered]
    if not short:
        return []
    planned_days = plan.planned_units / plan.daily_units
    head = (
        f"UNDERPOWERED: {len(short)} of {len(plan.rows)} metrics cannot reach their "
        f"MDE with the planned {plan.planned_units:,.0f} units (about "
        f"{planned_days:,.0f} days)"
    )
    return [head] + [
        f"  {row.metric}: {row.mde:+.1%} needs {row.n_total:,} units ({row.days:,} "
        f"days); detectable in {plan.days} days: about {row.mde_in_days:+.1%}"
        for row in short
    ]


def plan_lines(plan: PlanResult) -> list[str]:
    """The lines of `str(plan)`: the same columns as `abkit plan`, uncoloured."""
    header = [*PLAN_HEADERS, f"MDE in {plan.days} days"]
    rows = [header, *(plan_cells(row) for row in plan.rows)]
    return [
        plan_title(plan), *aligned(rows), *underpowered_lines(plan),
        *cluster_plan_lines(plan.cluster, plan.history_clusters, plan.rows),
        f"history: {plan.history}",
    ]  # fmt: skip


def plan(
    experiment: Experiment | str | Path,
    *,
    mde: float | None = None,
    days: int | None = None,
    power: float = 0.8,
    con: duckdb.DuckDBPyConnection | None = None,
) -> PlanResult:
    """Plan an experiment from its own pre-exposure history.

    Args:
        experiment: a loaded `Experiment` or the path of its exp.yaml.
        mde: target relative lift (default: the decision's minimum effect, or 5%).
        days: duration for the "MDE reachable" column (default: 14 days).
        power: target power of each treatment-versus-control comparison.
        con: run on this DuckDB connection instead of a private one.
    """
    check_plan_arguments(mde, days, power)
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    comparisons = max(len(experiment.treatments), 1)
    if not power > experiment.alpha / comparisons:
        raise ConfigError(
            f"power {power:g} is not above α/m = {experiment.alpha / comparisons:g}; "
            "ask for a power such as 0.8"
        )
    shift = history_shift(experiment.metrics)
    moments, daily, cluster_frame = _history(experiment, shift, con)
    target = mde or _default_mde(experiment)
    horizon = days or 14
    daily_units = _daily_units(daily)
    design = Design(
        alpha=experiment.alpha,
        power=power,
        weights=tuple(experiment.variants.values()),
        comparisons=len(experiment.treatments),
    )
    inflation = sequential_inflation(experiment, design, horizon)
    groups = read_moments(moments, experiment_variables(experiment, shift), ())
    arms = groups.get(None, {})
    clusters = history_cluster_arms(experiment, cluster_frame)
    rows = tuple(
        _plan_metric(m, arms, experiment, design, inflation, target, horizon,
                     daily_units, clusters)
        for m in experiment.metrics
    )  # fmt: skip
    planned = (
        float(experiment.sequential.planned_units)
        if experiment.sequential is not None
        else daily_units * horizon
    )
    rows = tuple(
        replace(row, underpowered=row.status == "ok" and row.n_total > planned)
        for row in rows
    )
    method = experiment.sequential.method if experiment.sequential else "fixed horizon"
    return PlanResult(
        experiment=experiment.name,
        rows=rows,
        daily_units=daily_units,
        days=horizon,
        alpha=experiment.alpha,
        power=power,
        comparisons=design.comparisons or 1,
        inflation=inflation,
        sequential=method,
        history=f"each metric's window moved {shift} days back to end by exposure, "
        "both arms pooled (no treatment can have touched it)",
        planned_units=planned,
        cluster=experiment.data.assignments.cluster,
        history_clusters=history_clusters(cluster_frame),
    )


MAX_PLAN_DAYS = 3650
"""Longest duration `plan` accepts (ten years of daily traffic)."""


def check_plan_arguments(mde: float | None, days: int | None, power: float) -> None:
    """The planning targets are usable numbers, or a one-line error naming the fix.

    Raises:
        ConfigError: power outside (0, 1), mde not a finite lift in (-1, 10] other
            than 0, or days outside 1…`MAX_PLAN_DAYS`.
    """
    if not 0 < power < 1:  # also refuses NaN
        raise ConfigError(
            f"power {power:g} is not between 0 and 1; ask for e.g. --power 0.8"
        )
    if mde is not None and not (-1 < mde <= 10 and mde != 0):
        raise ConfigError(
            f"mde {mde:g} is not a relative lift; give a non-zero number above -1 "
            "and at most 10, e.g. --mde 0.03 for +3%"
        )
    if days is not None and not 1 <= days <= MAX_PLAN_DAYS:
        raise ConfigError(
            f"days {days:,} is out of range; give a duration of 1 to "
            f"{MAX_PLAN_DAYS:,} days"
        )


def history_shift(metrics: Sequence[Metric]) -> int:
    """Days to move windows back so that every windowed metric ends by exposure."""
    ends = [m.effective_window.end_day for m in metrics if m.effective_window.end_day]
    return max(ends, default=7)


def _history(
    experiment: Experiment, shift: int, con: duckdb.DuckDBPyConnection | None
) -> tuple[Rows, pd.DataFrame, pd.DataFrame | None]:
    """The history's moments, daily exposures and (clustered designs) cluster sums."""
    with locked_engine(experiment, con) as engine:
        dialect = engine.dialect
        moments = query_rows(engine, render_analysis_sql(experiment, shift, dialect))
        daily = query_frame(engine, render_daily_exposures_sql(experiment, dialect))
        sql = render_cluster_sql(experiment, shift)
        if sql is not None and dialect != "duckdb":
            sql = transpile(sql, dialect)
        clusters = query_frame(engine, sql) if sql is not None else None
    return moments, daily, clusters


def _default_mde(experiment: Experiment) -> float:
    rules = experiment.decision
    return rules.minimum_effect if rules and rules.minimum_effect > 0 else DEFAULT_MDE


def _daily_units(daily: pd.DataFrame) -> float:
    """Average new exposed units per day over the days with exposures."""
    if daily.empty:
        raise DataError("no exposures found to estimate the daily traffic; check the "
                        "assignments source and the date window in exp.yaml")  # fmt: skip
    per_day = daily.groupby("exposure_day")["n_units"].sum()
    return float(per_day.mean())


def sequential_inflation(experiment: Experiment, design: Design, looks: int) -> float:
    """N_max / N_fixed for the sequential plan, with one look a day (STATS.md §7)."""
    settings = experiment.sequential
    if settings is None:
        return 1.0
    alpha = experiment.alpha / (design.comparisons or 1)
    if settings.method == "gst":
        fractions = [(k + 1) / looks for k in range(looks)]
        return gst_inflation(fractions, alpha, design.power, spending=settings.spending,
                             convention=settings.convention, rho=settings.rho)  # fmt: skip
    # always-valid / mSPRT tuned to N*: read once at N* the boundary is wider than z
    boundary = asymptotic_cs_halfwidth(1.0, 1.0, 1.0, alpha)
    z_alpha = normal_ppf(1 - alpha / 2)
    z_power = normal_ppf(design.power)
    return ((boundary + z_power) / (z_alpha + z_power)) ** 2


def _plan_metric(
    metric: Metric,
    arms: dict[str, dict[str, JointMoments]],
    experiment: Experiment,
    design: Design,
    inflation: float,
    mde: float,
    days: int,
    daily_units: float,
    clusters: ClusterArms | None = None,
) -> PlanRow:
    if metric.kind == "quantile":
        return _empty_row(metric, mde, "quantile_not_sized")
    control = arms.get(experiment.control, {}).get(metric.name)
    treated = arms.get(experiment.treatments[0], {}).get(metric.name)
    if control is None or treated is None or control.n + treated.n < 4:
        return _empty_row(metric, mde, "no_history")
    pooled = control + treated
    baseline, std = _baseline_and_std(metric, pooled)
    if not (std > 1e-6 * abs(baseline) and math.isfinite(std * baseline)):
        return _empty_row(metric, mde, "zero_variance")
    model = _model(metric, baseline, std)
    history = cluster_history(metric, clusters, std)
    if clusters is not None and history is None:
        return _empty_row(metric, mde, "no_cluster_history")
    # clustered metrics are analysed without CUPED
    reduction = (
        _reduction(metric, control, treated, experiment) if not clusters else 0.0
    )
    shaped = Design(**(asdict(design) | {"variance_reduction": reduction,
                                          "inflation": inflation}))  # fmt: skip
    sized: PowerResult = sample_size(model, mde, mde_type="relative", design=shaped)
    if history is not None:
        counts = clustered_counts(model, sized, history, days, daily_units)
    else:
        reachable = mde_for_duration(
            model, days, daily_units, mde_type="relative", design=shaped
        )
        counts = {"n_per_arm": sized.n_per_arm[0], "n_total": sized.n_total,
                  "days": duration_days(sized.n_total, daily_units),
                  "mde_in_days": reachable.mde}  # fmt: skip
    return PlanRow(
        metric=metric.name,
        kind=metric.kind,
        baseline=baseline,
        std=std,
        variance_reduction=reduction,
        mde=mde,
        format=metric.format,
        **counts,
    )


def _baseline_and_std(metric: Metric, pooled: JointMoments) -> tuple[float, float]:
    """The history's mean and per-unit standard deviation (NaN when undefined)."""
    if metric.kind == "ratio":
        denominator = pooled.mean("den")
        if not denominator:
            return math.nan, math.nan
        variance = ratio_variance(pooled, "value", "den")
        return pooled.mean("value") / denominator, math.sqrt(max(variance, 0.0))
    values = pooled.marginal("value")
    return values.mean, values.std


def _model(metric: Metric, baseline: float, std: float) -> MetricModel:
    if metric.kind == "ratio":
        return MetricModel.ratio(std**2, baseline=baseline)
    if metric.is_binary:
        return MetricModel.proportion(baseline)
    return MetricModel.mean(std, baseline=baseline)


def _reduction(
    metric: Metric, control: JointMoments, treated: JointMoments, experiment: Experiment
) -> float:
    """The variance CUPED would remove, measured on the history (0 without CUPED)."""
    if not (experiment.cuped.enabled and metric.cuped):
        return 0.0
    adjust = cuped_ratio_adjust if metric.kind == "ratio" else cuped_adjust
    result = adjust(control, treated)
    return max(result.variance_reduction, 0.0) if result.status == "ok" else 0.0


def _empty_row(metric: Metric, mde: float, status: str) -> PlanRow:
    nan = math.nan
    return PlanRow(metric.name, metric.kind, nan, nan, nan, mde, 0, 0, 0, nan, status)
