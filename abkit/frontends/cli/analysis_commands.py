"""`abkit analyze`, `plan`, `report` and `sql`: the commands that compute."""

from __future__ import annotations

import json
from typing import Annotated, get_args

import typer

from abkit.errors import AbkitError
from abkit.frontends.cli.common import (
    ExpPath,
    FormatOption,
    OutputOption,
    StoreOption,
    app,
    checked_format,
    emit,
    iso_day,
    open_store,
    parse_date,
    say,
    stderr,
    stdout,
    user_errors,
    write_output,
)
from abkit.sql.dialects import DIALECTS


@app.command("analyze")
@user_errors
def analyze_command(
    exp_yaml: ExpPath,
    output_format: FormatOption = "table",
    output: OutputOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Analyse data before this date (YYYY-MM-DD)."),
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Keep this analysis in the store.")
    ] = False,
    store: StoreOption = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Scan only events since the last refresh (state kept beside the "
            "store); says when a full recomputation was needed and why.",
        ),
    ] = False,
    cuped: Annotated[
        bool, typer.Option("--cuped/--no-cuped", help="CUPED on or off.")
    ] = True,
    correction: Annotated[
        str | None,
        typer.Option(
            help="Override the correction: holm, hochberg, bh, bonferroni, by, "
            "holm-sidak, sidak, none."
        ),
    ] = None,
    segments: Annotated[
        bool, typer.Option("--segments", help="Also print the per-segment tables.")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Where the queries run: duckdb, spark or postgres "
            "(default: exp.yaml engine:, else duckdb)."
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option("--spark-master", help="Spark master URL (default local[2])."),
    ] = None,
    dsn: Annotated[
        str | None,
        typer.Option(help="Postgres connection string (default: PG* environment)."),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also the means, P(better), CUPED, sequential and Bayesian views "
            "and every health check.",
        ),
    ] = False,
) -> None:
    """Analyse an experiment and print its scorecard and health checks."""
    from abkit.analysis.run import analyze
    from abkit.config import CorrectionMethod

    fmt = checked_format(output_format)
    if correction is not None and correction not in get_args(CorrectionMethod):
        raise AbkitError(f"--correction '{correction}' is not known; use one of "
                         f"{', '.join(get_args(CorrectionMethod))}")  # fmt: skip
    options = dict(as_of=parse_date(as_of), cuped=None if cuped else False,
                   correction=correction, engine=checked_engine(engine),
                   spark_master=spark_master, dsn=dsn)  # fmt: skip
    with stderr.status("analysing…"):
        if refresh:
            from abkit.analysis.refresh import refresh_analysis

            where = store.parent if store else exp_yaml.resolve().parent
            result, outcome = refresh_analysis(
                exp_yaml,
                where / "abkit-refresh",
                **options,  # type: ignore[arg-type]
            )
        else:
            result = analyze(exp_yaml, **options)  # type: ignore[arg-type]
    if refresh:
        stderr.print(outcome.describe())
    if save:
        with open_store(exp_yaml, store) as results:
            snapshot = results.save_snapshot(
                result.experiment, result.to_dict(), config_hash=result.config_hash,
                window_start=iso_day(result.window_start),
                window_end=iso_day(result.window_end), engine=result.engine,
                abkit_version=result.abkit_version,
            )  # fmt: skip
        say(f"saved as snapshot {snapshot}")
    emit(result, fmt, output, segments=segments, verbose=verbose)


def checked_engine(engine: str | None) -> str | None:
    """The --engine value, or a one-line AbkitError listing the engines."""
    engines = ("duckdb", "spark", "postgres")
    if engine is not None and engine not in engines:
        raise AbkitError(f"--engine '{engine}' is not known; use {', '.join(engines)}")
    return engine


@app.command("plan")
@user_errors
def plan_command(
    exp_yaml: ExpPath,
    mde: Annotated[
        float | None, typer.Option(help="Target relative lift, e.g. 0.03 for +3%.")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Duration for the MDE column.")
    ] = None,
    power: Annotated[float, typer.Option(help="Target power.")] = 0.8,
    output_format: FormatOption = "table",
) -> None:
    """Sample size and duration per metric, from the experiment's own history."""
    from abkit.analysis.planning import plan
    from abkit.report.terminal import _json_safe, plan_table

    fmt = checked_format(output_format)
    with stderr.status("estimating variances from the pre-exposure history…"):
        result = plan(exp_yaml, mde=mde, days=days, power=power)
    if fmt == "json":
        typer.echo(json.dumps(_json_safe(result.to_dict()), indent=2))
    else:
        stdout.print(plan_table(result))


@app.command("report")
@user_errors
def report_command(
    exp_yaml: ExpPath,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="html, markdown or json.")
    ] = "html",
    output: OutputOption = None,
    store: StoreOption = None,
) -> None:
    """A shareable report: the analysis with notes and the decision log."""
    from abkit.analysis.run import analyze
    from abkit.config import load_experiment
    from abkit.report.terminal import render_report

    if output_format not in ("html", "markdown", "json"):
        raise AbkitError(
            f"--format '{output_format}' is not known; use html, markdown or json"
        )
    experiment = load_experiment(exp_yaml)
    with stderr.status("analysing…"):
        result = analyze(experiment)
    with open_store(exp_yaml, store) as results:
        notes, decisions = (
            results.notes(experiment.name),
            results.decisions(experiment.name),
        )
    text = render_report(result, output_format, notes, decisions)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_output(output, text)


@app.command("sql")
@user_errors
def sql_command(
    exp_yaml: ExpPath,
    dialect: Annotated[
        str, typer.Option(help=f"One of {', '.join(DIALECTS)}.")
    ] = "duckdb",
    query: Annotated[
        str, typer.Option(help="moments (the scorecard's sums), or all queries.")
    ] = "all",
) -> None:
    """Print every query the analysis runs, in the order it runs them, in a dialect."""
    from abkit.analysis.query_plan import analysis_queries
    from abkit.config import load_experiment
    from abkit.sql.dialects import transpile

    if dialect not in DIALECTS:
        raise AbkitError(
            f"--dialect '{dialect}' is not known; use one of {', '.join(DIALECTS)}"
        )
    queries = analysis_queries(load_experiment(exp_yaml), dialect)
    if query != "all" and query not in queries:
        raise AbkitError(
            f"--query '{query}' is not known; use all or {', '.join(queries)}"
        )
    chosen = queries if query == "all" else {query: queries[query]}
    for name, sql in chosen.items():
        text = transpile(sql, "duckdb") if dialect == "duckdb" else sql  # pretty
        typer.echo(f"-- abkit: {name}\n{text};\n")
