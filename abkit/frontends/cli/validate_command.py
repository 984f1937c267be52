"""`abkit validate`: check config and data before any analysis, as a table.

Exit code by the worst check: 1 when one failed, 0 when all pass or only warn
(warnings are printed with a note), 2 for a usage error such as an unknown format.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table
from rich.text import Text

from abkit.frontends.cli.common import (
    ExpPath,
    FormatOption,
    app,
    checked_format,
    say,
    stdout,
    user_errors,
)

_STYLES = {"pass": "green", "warn": "yellow", "fail": "red"}


@app.command("validate")
@user_errors
def validate_command(exp_yaml: ExpPath, output_format: FormatOption = "table") -> None:
    """Check exp.yaml and its data (columns, types, times, variants, values)."""
    from abkit.analysis.validation import validate

    fmt = checked_format(output_format)
    report = validate(exp_yaml)
    if fmt == "json":
        checks = [
            {"name": c.name, "status": c.status, "count": c.count, "message": c.message}
            for c in report.checks
        ]
        payload = {"experiment": report.experiment, "worst": report.worst}
        typer.echo(json.dumps(payload | {"checks": checks}, indent=2))
    else:
        stdout.print(_table(report))
        if report.worst == "warn":
            say("warnings only: the analysis can run, but read them first")
    raise typer.Exit(code=report.exit_code)


def _table(report: object) -> Table:
    from abkit.analysis.validation import ValidationReport

    assert isinstance(report, ValidationReport)
    table = Table(title=f"validate {report.experiment}: {report.worst}")
    for column in ("check", "status", "count", "what was found"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for check in report.checks:
        status = Text(check.status, style=_STYLES[check.status])
        table.add_row(check.name, status, f"{check.count:,}", check.message)
    return table
