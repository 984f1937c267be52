"""The `abkit` command line: a thin layer over the library API.

Every command parses its input, calls one library function and renders. User
errors (`AbkitError`) print one red line and exit 2; anything else is a bug and
keeps its traceback. Each command imports the library it needs when it runs, so
`abkit --help` and `abkit sql` do not load pandas, DuckDB, SciPy or plotly.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from abkit.errors import AbkitError
from abkit.frontends.app_launch import free_port, streamlit_command
from abkit.resources import abkit_version, resource_dir
from abkit.sql.dialects import DIALECTS

if TYPE_CHECKING:
    from abkit.report.terminal import OutputFormat
    from abkit.store.store import ResultStore

app = typer.Typer(
    name="abkit",
    help="A/B-test analysis: experiments as code, SQL over DuckDB, sound statistics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stdout = Console(width=None if Console().is_terminal else 120)  # piped: no 80-col wrap
stderr = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

ExpPath = Annotated[Path, typer.Argument(help="Path of the experiment's exp.yaml.")]
FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="table, json or markdown.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file instead of stdout."),
]


def user_errors(command: F) -> F:
    """Turn AbkitError into one red line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AbkitError as error:
            stderr.print(f"[red]error:[/red] {error}", soft_wrap=True, highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _output_format(value: str) -> OutputFormat:
    if value not in ("table", "json", "markdown"):
        raise AbkitError(
            f"--format '{value}' is not known; use table, json or markdown"
        )
    return value  # type: ignore[return-value]


def _emit(
    result: Any,
    output_format: OutputFormat,
    output: Path | None,
    *,
    segments: bool = False,
) -> None:
    from abkit.report.terminal import print_result, render

    if output is not None:
        output.write_text(render(result, output_format), encoding="utf-8")
        stderr.print(f"wrote {output}")
    elif output_format == "table":
        print_result(result, stdout, segments=segments)
    else:
        typer.echo(render(result, output_format), nl=False)


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
    cuped: Annotated[
        bool, typer.Option("--cuped/--no-cuped", help="CUPED on or off.")
    ] = True,
    correction: Annotated[
        str | None,
        typer.Option(
            help="Override the correction: holm, hochberg, bh, bonferroni, none."
        ),
    ] = None,
    segments: Annotated[
        bool, typer.Option("--segments", help="Also print the per-segment tables.")
    ] = False,
) -> None:
    """Analyse an experiment and print its scorecard and health checks."""
    from abkit.analysis.run import analyze

    fmt = _output_format(output_format)
    if correction not in (None, "holm", "hochberg", "bh", "bonferroni", "none"):
        raise AbkitError(f"--correction '{correction}' is not known; use holm, hochberg, "
                         "bh, bonferroni or none")  # fmt: skip
    with stderr.status("analysing…"):
        result = analyze(
            exp_yaml, as_of=_parse_date(as_of), cuped=None if cuped else False,
            correction=correction,  # type: ignore[arg-type]
        )  # fmt: skip
    if save:
        with _store(exp_yaml, store) as results:
            snapshot = results.save_snapshot(
                result.experiment, result.to_dict(), config_hash=result.config_hash,
                window_start=_iso_day(result.window_start),
                window_end=_iso_day(result.window_end), engine=result.engine,
                abkit_version=result.abkit_version,
            )  # fmt: skip
        stderr.print(f"saved as snapshot {snapshot}")
    _emit(result, fmt, output, segments=segments)


def _iso_day(value: dt.datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store", help="Results database (default: abkit.db beside exp.yaml)."
    ),
]


def _store(exp_yaml: Path, store: Path | None) -> ResultStore:
    from abkit.store.store import DEFAULT_FILENAME, ResultStore

    return ResultStore(store or exp_yaml.resolve().parent / DEFAULT_FILENAME)


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
    stderr.print(f"locked {experiment.name} at hash {registration.config_hash}")


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

    fmt = _output_format(output_format)
    with stderr.status("estimating variances from the pre-exposure history…"):
        result = plan(exp_yaml, mde=mde, days=days, power=power)
    if fmt == "json":
        typer.echo(json.dumps(_json_safe(result.to_dict()), indent=2))
    else:
        stdout.print(plan_table(result))


@app.command("history")
@user_errors
def history_command(exp_yaml: ExpPath, store: StoreOption = None) -> None:
    """Saved analyses of an experiment, newest first."""
    from abkit.config import load_experiment
    from abkit.report.terminal import history_table

    experiment = load_experiment(exp_yaml)
    with _store(exp_yaml, store) as results:
        snapshots = results.snapshots(experiment.name)
    if not snapshots:
        stderr.print(f"no saved analyses of {experiment.name}; run `abkit analyze "
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
    with _store(exp_yaml, store) as results:
        note = results.add_note(experiment.name, text, author=author, metric=metric)
    stderr.print(f"note {note.id} saved")


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

    experiment = load_experiment(exp_yaml)
    with _store(exp_yaml, store) as results:
        record = results.record_decision(
            experiment.name, decision, rationale=why, author=author,  # type: ignore[arg-type]
            config_hash=experiment.config_hash,
        )  # fmt: skip
    stderr.print(f"decision '{record.decision}' recorded")


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
    with _store(exp_yaml, store) as results:
        notes, decisions = (
            results.notes(experiment.name),
            results.decisions(experiment.name),
        )
    text = render_report(result, output_format, notes, decisions)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        stderr.print(f"wrote {output}")


@app.command("app")
@user_errors
def app_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder searched for exp*.yaml files.")
    ] = Path("data/examples"),
    port: Annotated[
        int | None, typer.Option(help="Port (default: a free one).")
    ] = None,
) -> None:
    """Start the Streamlit app on 127.0.0.1."""
    if not directory.is_dir():
        raise AbkitError(
            f"--dir {directory} is not a folder; point it at your experiments"
        )
    chosen = port or free_port()
    stderr.print(f"abkit app on http://127.0.0.1:{chosen}  (Ctrl+C stops it)")
    command = streamlit_command(directory.resolve(), chosen)
    raise typer.Exit(subprocess.call(command))


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
    """Print the experiment's analysis SQL in a warehouse dialect."""
    from abkit.config import load_experiment
    from abkit.sql.dialects import transpile
    from abkit.sql.render import render_all_sql

    if dialect not in DIALECTS:
        raise AbkitError(
            f"--dialect '{dialect}' is not known; use one of {', '.join(DIALECTS)}"
        )
    queries = render_all_sql(load_experiment(exp_yaml))
    if query != "all" and query not in queries:
        raise AbkitError(
            f"--query '{query}' is not known; use all or {', '.join(queries)}"
        )
    chosen = queries if query == "all" else {query: queries[query]}
    for name, sql in chosen.items():
        typer.echo(f"-- abkit: {name}\n{transpile(sql, dialect)};\n")


@app.command("demo")
@user_errors
def demo_command(
    directory: Annotated[
        Path,
        typer.Option("--dir", help="Folder for demo/ (data) and examples/ (YAML)."),
    ] = Path("data"),
    users: Annotated[int, typer.Option(help="Number of simulated members.")] = 40_000,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 20261005,
    output_format: FormatOption = "table",
) -> None:
    """Generate the dating-app demo log (once, seeded) and analyse it."""
    from abkit.analysis.run import analyze
    from abkit.demo.generator import DemoSpec, demo_is_current, generate_demo

    fmt = _output_format(output_format)
    spec = DemoSpec(n_users=users, seed=seed)
    data_dir = directory / "demo"
    if not demo_is_current(data_dir, spec):
        with stderr.status(f"generating the demo event log ({users:,} members)…"):
            try:
                generate_demo(data_dir, spec)
            except OSError as error:
                raise AbkitError(
                    f"cannot write the demo data to {data_dir}: {error.strerror}; choose "
                    "a writable folder with --dir"
                ) from None
        stderr.print(f"demo data written to {data_dir}")
    exp_yaml = _ensure_examples(directory / "examples")
    with stderr.status("analysing…"):
        result = analyze(exp_yaml)
    _emit(result, fmt, None)


def _ensure_examples(target: Path) -> Path:
    """The example exp.yaml, copied from the installed package when missing."""
    if not (target / "exp.yaml").is_file():
        shutil.copytree(resource_dir("examples"), target, dirs_exist_ok=True)
    return target / "exp.yaml"


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise AbkitError(
            f"--as-of '{text}' is not a date; write it as YYYY-MM-DD"
        ) from None


if __name__ == "__main__":
    app()
