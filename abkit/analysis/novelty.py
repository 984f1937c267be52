"""Novelty: the primary metric's effect split by day since exposure.

A novelty effect fades day by day; learning builds up. The split is the primary
metric with one one-day window per day since exposure, computed as extra columns of
the fused moments query (no second scan). The points are `monitoring.NoveltyPoint`s,
beside the other daily views of an analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abkit.aggregates.moments import JointMoments
from abkit.analysis.day_split import novelty_experiment
from abkit.analysis.monitoring import MIN_UNITS_PER_ARM, NoveltyPoint
from abkit.config import Experiment
from abkit.stats.welch import EffectResult


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
