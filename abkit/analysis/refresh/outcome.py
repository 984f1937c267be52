"""What a refresh did, and the frames an analysis is built from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from abkit.aggregates.rows import Rows
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


def results(experiment: Experiment, moments: Rows, health: Rows) -> QueryResults:
    """The query results an analysis is built from: kept moments and health rows."""
    return QueryResults(
        moments=moments,
        exposure_health=exposure_health(health),
        daily_exposures=daily_exposures(health, experiment),
        contamination=None,
        novelty=moments if novelty_experiment(experiment) is not None else None,
    )
