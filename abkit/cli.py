"""The `abkit` command line: a thin layer over the library API.

Every command parses its input, calls one library function and renders. User
errors (`AbkitError`) print one red line and exit 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from abkit.analysis import analyze
from abkit.config import load_experiment
from abkit.errors import AbkitError
from abkit.report import OutputFormat, print_result, render
from abkit.sql import DIALECTS, render_all_sql, transpile

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
    segments: Annotated[
        bool, typer.Option("--segments", help="Also print the per-segment tables.")
    ] = False,
) -> None:
    """Analyse an experiment and print its scorecard and health checks."""
    fmt = _output_format(output_format)
    with stderr.status("analysing…"):
        result = analyze(exp_yaml, as_of=_parse_date(as_of))
    _emit(result, fmt, output, segments=segments)


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
    from abkit.demo import DemoSpec, demo_is_current, generate_demo

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
        shutil.copytree(_packaged_examples(), target, dirs_exist_ok=True)
    return target / "exp.yaml"


def _packaged_examples() -> Path:
    packaged = Path(__file__).parent / "examples"
    return (
        packaged
        if packaged.is_dir()
        else Path(__file__).resolve().parents[1] / "data" / "examples"
    )


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
