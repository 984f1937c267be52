"""The day-since-exposure split of an experiment: which query the novelty view needs.

Pure configuration, no statistics, so that `abkit sql` can print this query (the last
one an analysis runs) without loading the statistics libraries. The effects are
computed in `abkit.analysis.novelty`.
"""

from __future__ import annotations

from abkit.config import CupedSettings, Experiment, Metric, Window

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
