"""What the reports read of the saved discussion and analyses.

The results store comes after the reports in the layout, so the reports describe its
records (notes, decisions, snapshots) by the attributes they show. The store's
`Note`, `DecisionRecord` and `Snapshot` dataclasses satisfy these protocols, and so
does anything else with the same attributes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol


class NoteRecord(Protocol):
    """A discussion note on an experiment, optionally about one metric."""

    @property
    def id(self) -> int:
        """Store id; a higher id is a later note."""

    @property
    def author(self) -> str:
        """Who wrote the note."""

    @property
    def text(self) -> str:
        """The note, verbatim."""

    @property
    def metric(self) -> str | None:
        """The metric the note is about, if any."""

    @property
    def created_at(self) -> dt.datetime:
        """When the note was written."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""


class DecisionLogRecord(Protocol):
    """A decision taken on an experiment, with its rationale."""

    @property
    def id(self) -> int:
        """Store id; a higher id is a later decision."""

    @property
    def decision(self) -> str:
        """What was decided (ship, iterate, stop, extend)."""

    @property
    def rationale(self) -> str:
        """Why, verbatim."""

    @property
    def author(self) -> str:
        """Who decided."""

    @property
    def created_at(self) -> dt.datetime:
        """When the decision was recorded."""

    @property
    def config_hash(self) -> str | None:
        """The configuration the decision was taken on, if known."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""


class SnapshotRecord(Protocol):
    """One saved analysis: its results dict and where it came from."""

    @property
    def id(self) -> int:
        """Store id."""

    @property
    def created_at(self) -> dt.datetime:
        """When the analysis was saved."""

    @property
    def config_hash(self) -> str:
        """The configuration the analysis ran with."""

    @property
    def window_start(self) -> str | None:
        """First day of the analysed data, if known."""

    @property
    def window_end(self) -> str | None:
        """Last day of the analysed data, if known."""

    @property
    def payload(self) -> dict[str, Any]:
        """The saved results (`AnalysisResult.to_dict`)."""
