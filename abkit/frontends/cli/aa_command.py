"""`abkit aa`: the A/A replay of an experiment on its own data."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from abkit.errors import AbkitError
from abkit.frontends.cli.common import ExpPath, FormatOption, app, stderr, user_errors


@app.command("aa")
@user_errors
def aa_command(
    exp_yaml: ExpPath,
    runs: Annotated[
        int, typer.Option("--runs", help="Random re-assignments (1 to 10,000).")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the re-assignment hash.")] = 0,
    output_format: FormatOption = "table",
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 when a metric's false-positive rate is off."
        ),
    ] = False,
) -> None:
    """Re-split the experiment's units N times: each test's false-positive rate."""
    from abkit.analysis.aa_replay import aa_replay

    if output_format not in ("table", "json"):
        raise AbkitError(f"--format '{output_format}' is not known; use table or json")
    result = aa_replay(exp_yaml, runs=runs, seed=seed)
    if output_format == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, allow_nan=True))
    else:
        typer.echo(str(result), nl=False)
    flagged = result.flagged
    if flagged:
        names = ", ".join(sorted({f"{row.metric} ({row.test})" for row in flagged}))
        stderr.print(f"false-positive rate off for: {names}", highlight=False)
        if strict:
            raise typer.Exit(code=1)
