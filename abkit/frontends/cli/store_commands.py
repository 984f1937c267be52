"""`abkit lock`, `history`, `note` and `decide`: the commands that keep a record."""

from __future__ import annotations

import difflib
from typing import Annotated

import typer

from abkit.errors import AbkitError
from abkit.frontends.cli.common import (
    ExpPath,
    StoreOption,
    app,
    open_store,
    say,
    stdout,
    user_errors,
)
from abkit.resources import abkit_version


@app.command("lock")
@user_errors
def lock_command(
    exp_yaml: ExpPath,
    force: Annotated[bool, typer.Option(help="Replace an existing lock.")] = False,
) -> None:
    """Pre-register: lock exp.yaml and its metrics before launch."""
    from abkit.analysis.registration import write_registration
    from abkit.config import load_experiment

    experiment = load_experiment(exp_yaml)
    registration = write_registration(experiment, abkit_version(), force=force)
    say(f"locked {experiment.name} at hash {registration.config_hash}")


@app.command("history")
@user_errors
def history_command(exp_yaml: ExpPath, store: StoreOption = None) -> None:
    """Saved analyses of an experiment, newest first."""
    from abkit.config import load_experiment
    from abkit.report.terminal import history_table

    experiment = load_experiment(exp_yaml)
    with open_store(exp_yaml, store) as results:
        snapshots = results.snapshots(experiment.name)
    if not snapshots:
        say(f"no saved analyses of {experiment.name}; run `abkit analyze "
            f"{exp_yaml} --save`")  # fmt: skip
        return
    stdout.print(history_table(experiment.name, snapshots))


@app.command("note")
@user_errors
def note_command(
    exp_yaml: ExpPath,
    text: Annotated[str, typer.Argument(help="The note.")],
    author: Annotated[str, typer.Option(help="Who writes it.")],
    metric: Annotated[str | None, typer.Option(help="The metric it is about.")] = None,
    store: StoreOption = None,
) -> None:
    """Add a note to an experiment's discussion."""
    from abkit.config import load_experiment

    experiment = load_experiment(exp_yaml)
    if metric is not None:
        experiment.metric(metric)  # one-line error with "did you mean" if unknown
    with open_store(exp_yaml, store) as results:
        note = results.add_note(experiment.name, text, author=author, metric=metric)
    say(f"note {note.id} saved")


@app.command("decide")
@user_errors
def decide_command(
    exp_yaml: ExpPath,
    decision: Annotated[str, typer.Argument(help="ship, iterate, stop or extend.")],
    why: Annotated[str, typer.Option("--why", help="The rationale.")],
    author: Annotated[str, typer.Option(help="Who decides.")],
    store: StoreOption = None,
) -> None:
    """Record the team's decision on an experiment."""
    from abkit.config import load_experiment
    from abkit.store import DECISIONS

    if decision not in DECISIONS:
        close = difflib.get_close_matches(decision.lower(), DECISIONS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise AbkitError(
            f"decision '{decision}' is not known: use {', '.join(DECISIONS)}{hint}"
        )

    experiment = load_experiment(exp_yaml)
    with open_store(exp_yaml, store) as results:
        record = results.record_decision(
            experiment.name, decision, rationale=why, author=author,  # type: ignore[arg-type]
            config_hash=experiment.config_hash,
        )  # fmt: skip
    say(f"decision '{record.decision}' recorded")
