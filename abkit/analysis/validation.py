"""`abkit validate`: check an experiment's config and data before any analysis.

Every check is one aggregate query over the declared sources, run on the
locked-down engine, so only counts leave it. The result is a table of checks,
each `pass`, `warn` or `fail` with a count and plain words. The worst status sets
the exit code of the command: `fail` → 1; `warn` and `pass` → 0 (a warning is
worth reading but the analysis is still sound).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from abkit.analysis.queries import locked_engine, query_frame
from abkit.analysis.validation_checks import Check, Status, data_checks, roles
from abkit.config import Experiment, load_experiment
from abkit.engines import Engine
from abkit.errors import AbkitError
from abkit.sql.render import relation_sql

_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every check of one experiment, in the order they ran."""

    experiment: str
    checks: tuple[Check, ...]

    @property
    def worst(self) -> Status:
        """The worst status of any check."""
        return max((c.status for c in self.checks), key=_RANK.__getitem__)

    @property
    def exit_code(self) -> int:
        """1 when a check failed, else 0."""
        return 1 if self.worst == "fail" else 0


def validate(path: str | Path) -> ValidationReport:
    """Validate exp.yaml, its metrics and its data; never raises for bad input."""
    try:
        experiment = load_experiment(path)
    except AbkitError as error:
        return ValidationReport(
            Path(path).stem, (Check("config", "fail", 1, str(error)),)
        )
    checks = [Check("config", "pass", 0, "exp.yaml and its metrics file are valid")]
    try:
        with locked_engine(experiment, checked=False) as engine:
            columns = _column_types(engine, experiment)
            checks.append(_columns_check(experiment, columns))
            if checks[-1].status != "fail":
                checks += data_checks(engine, experiment, columns)
    except AbkitError as error:
        checks.append(Check("sources", "fail", 1, str(error)))
    return ValidationReport(experiment.name, tuple(checks))


def _column_types(engine: Engine, experiment: Experiment) -> dict[str, dict[str, str]]:
    types = {}
    for role, source in roles(experiment).items():
        described = query_frame(
            engine, f"DESCRIBE SELECT * FROM {relation_sql(source)}"
        )
        types[role] = dict(
            zip(described["column_name"], described["column_type"], strict=True)
        )
    return types


def _mapped(experiment: Experiment) -> list[tuple[str, str, str]]:
    """(table, key, column) of every mapped column."""
    data = experiment.data
    wanted = [
        ("assignments", k, getattr(data.assignments, k))
        for k in ("unit_id", "variant", "timestamp")
    ]
    wanted += [
        ("events", k, getattr(data.events, k))
        for k in ("unit_id", "timestamp", "event", "value", "partner_id")
    ]
    wanted += [("events", "extra_columns", c) for c in data.events.extra_columns]
    if data.units is not None:
        wanted.append(("units", "unit_id", data.units.unit_id))
        wanted += [("units", "segments", s) for s in experiment.segments]
    return [(t, k, c) for t, k, c in wanted if c]


def _columns_check(experiment: Experiment, types: dict[str, dict[str, str]]) -> Check:
    missing = [
        f"data.{t}.{k} '{c}'" for t, k, c in _mapped(experiment) if c not in types[t]
    ]
    if missing:
        return Check(
            "columns",
            "fail",
            len(missing),
            f"mapped columns missing from the data: {', '.join(missing)}; "
            "fix the mapping in exp.yaml",
        )
    return Check("columns", "pass", 0, "every mapped column exists")
