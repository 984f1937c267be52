"""What a refresh did, and the frames an analysis is built from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from abkit.analysis.day_split import novelty_experiment
from abkit.analysis.queries import QueryResults, daily_exposures, exposure_health
from abkit.config import Experiment


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What a refresh scanned, or why it recomputed everything."""

    incremental: bool
    reason: str
    events_since: dt.date | None = None
    next_cut: dt.date | None = None
    note: str = ""

    def describe(self) -> str:
        """One line for the terminal."""
        if self.incremental:
            line = (
                f"refresh: incremental, scanned events since {self.events_since} "
                f"(state kept up to {self.next_cut})"
            )
        else:
            line = f"refresh: full recomputation ({self.reason})"
        return f"{line}; {self.note}" if self.note else line


def results(
    experiment: Experiment, frame: pd.DataFrame, health_frame: pd.DataFrame
) -> QueryResults:
    """The frames an analysis is built from."""
    return QueryResults(
        moments=frame,
        exposure_health=exposure_health(health_frame),
        daily_exposures=daily_exposures(health_frame, experiment),
        contamination=None,
        novelty=frame if novelty_experiment(experiment) is not None else None,
    )
