"""Novelty: the primary metric's effect split by day since exposure.

A novelty effect fades day by day; learning builds up. The split is one extra run of
the fused moments query, over an experiment reduced to the primary metric with one
one-day window per day since exposure. The points are `monitoring.NoveltyPoint`s,
beside the other daily views of an analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abkit.aggregates.moments import JointMoments
from abkit.analysis.monitoring import MIN_UNITS_PER_ARM, NoveltyPoint
from abkit.config import CupedSettings, Experiment, Metric, Window
from abkit.stats.welch import EffectResult

MAX_NOVELTY_DAYS = 28
"""Longer windows are not split: a day-by-day view needs few, full days."""


def novelty_metric(experiment: Experiment) -> Metric | None:
    """The metric whose effect is split by day since exposure: the primary one."""
    name = (
        experiment.decision.primary
        if experiment.decision
        else experiment.metrics[0].name
    )
    metric = experiment.metric(name)
    window = metric.effective_window
    if metric.kind not in ("mean", "proportion") or window.end_day is None:
        return None
    if window.end_day - window.start_day > MAX_NOVELTY_DAYS:
        return None
    return metric


def novelty_experiment(experiment: Experiment) -> Experiment | None:
    """The experiment reduced to its primary metric, one metric per day since exposure."""
    metric = novelty_metric(experiment)
    if metric is None:
        return None
    window = metric.effective_window
    assert window.end_day is not None
    days = tuple(
        metric.model_copy(update={
            "name": f"{metric.name}__day{day}",
            "window": Window(start_day=day, end_day=day + 1),
            "winsorize": None,
            "cuped": False,
        })
        for day in range(window.start_day, window.end_day)
    )  # fmt: skip
    return experiment.model_copy(update={
        "metrics": days, "segments": (), "sequential": None, "decision": None,
        "bayesian": None, "cuped": CupedSettings(enabled=False),
    })  # fmt: skip


def novelty_points(
    experiment: Experiment,
    moments: Mapping[str, Mapping[str, JointMoments]],
    compare: Any,
) -> tuple[NoveltyPoint, ...]:
    """The primary metric's effect per day since exposure, per treatment."""
    split = novelty_experiment(experiment)
    if split is None or experiment.control not in moments:
        return ()
    points = []
    for day_metric in split.metrics:
        day = day_metric.effective_window.start_day
        base = day_metric.name.rsplit("__day", 1)[0]
        for variant in experiment.treatments:
            if variant not in moments:
                continue
            control = moments[experiment.control][day_metric.name]
            treated = moments[variant][day_metric.name]
            if min(control.n, treated.n) < MIN_UNITS_PER_ARM:
                continue
            effect: EffectResult = compare(day_metric, control, treated)
            points.append(NoveltyPoint(
                base, variant, day, effect.control.n, effect.treatment.n, effect.relative,
                effect.relative_ci_lower, effect.relative_ci_upper, effect.pvalue,
            ))  # fmt: skip
    return tuple(points)
