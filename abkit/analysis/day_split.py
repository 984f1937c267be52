"""The day-since-exposure split of an experiment: which metrics the novelty view reads.

Pure configuration, no statistics. The per-day metrics (`novelty_day_metrics`) are
extra columns of the analysis query itself, so the view costs no second scan; this
experiment copy only tells the readers which columns to turn into moments. The
effects are computed in `abkit.analysis.novelty`.
"""

from __future__ import annotations

from abkit.config import CupedSettings, Experiment
from abkit.sql.variables import MAX_NOVELTY_DAYS, novelty_day_metrics, novelty_metric

__all__ = ["MAX_NOVELTY_DAYS", "novelty_experiment", "novelty_metric"]


def novelty_experiment(experiment: Experiment) -> Experiment | None:
    """The experiment reduced to its primary metric, one metric per day since exposure.

    Its moments are columns of the analysis query itself (`novelty_day_metrics`).
    """
    days = novelty_day_metrics(experiment)
    if not days:
        return None
    return experiment.model_copy(update={
        "metrics": days, "segments": (), "sequential": None, "decision": None,
        "bayesian": None, "cuped": CupedSettings(enabled=False),
    })  # fmt: skip
