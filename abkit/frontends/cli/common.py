"""What every `abkit` command shares: the typer app, consoles, options, error handling.

Every command parses its input, calls one library function and renders. User
errors (`AbkitError`) print one red line and exit 2; anything else is a bug and
keeps its traceback. Each command imports the library it needs when it runs, so
`abkit --help` and `abkit sql` do not load pandas, DuckDB, SciPy or plotly.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperOption

from abkit.errors import AbkitError

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
# user text (names, segment values from the data) is printed as text: no markup, no
# emoji codes; the report's tables style with `Text` objects. Piped: 120 columns
# unless $COLUMNS says otherwise.
stdout = Console(
    width=None if Console().is_terminal or os.environ.get("COLUMNS") else 120,
    markup=False,
    emoji=False,
)
stderr = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
_typer_display_type = TyperOption.display_type_rich


def _flag_without_type(self: TyperOption, ctx: Any) -> str | None:
    """Help shows no `<bool>` placeholder after a flag (it takes no value)."""
    return None if self.is_flag else _typer_display_type(self, ctx)


TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]

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
            stderr.print(
                f"[red]error:[/red] {escape(one_line(str(error)))}",
                soft_wrap=True,
                highlight=False,
                emoji=False,
            )
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


MAX_MESSAGE = 400
"""Most characters of an error line the CLI prints."""


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message as one line of at most `limit` characters (cut with '…')."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def say(message: str) -> None:
    """Print a status line on stderr, user text shown literally (no markup, emoji)."""
    stderr.print(escape(message), soft_wrap=True, highlight=False, emoji=False)


def write_output(output: Path, text: str) -> None:
    """Write `text` to --output, or a one-line error naming the fix."""
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise AbkitError(
            f"cannot write --output {one_line(str(output), 120)}: {reason}; choose a "
            "writable file path (the folder must exist)"
        ) from None
    say(f"wrote {output}")


def checked_format(value: str) -> OutputFormat:
    """The --format value, checked (table, json or markdown)."""
    if value not in ("table", "json", "markdown"):
        raise AbkitError(
            f"--format '{one_line(value, 40)}' is not known; use table, json or markdown"
        )
    return value  # type: ignore[return-value]


def emit(
    result: Any,
    output_format: OutputFormat,
    output: Path | None,
    *,
    segments: bool = False,
    verbose: bool = False,
) -> None:
    """Print a result in the chosen format, or write it to --output."""
    from abkit.report.terminal import print_result, render

    if output is not None:
        write_output(output, render(result, output_format))
    elif output_format == "table":
        print_result(result, stdout, segments=segments, verbose=verbose)
    else:
        typer.echo(render(result, output_format), nl=False)


def iso_day(value: dt.datetime | None) -> str | None:
    """The date of a timestamp as YYYY-MM-DD, None when missing."""
    return value.date().isoformat() if value is not None else None


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store", help="Results database (default: abkit.db beside exp.yaml)."
    ),
]


def open_store(exp_yaml: Path, store: Path | None) -> ResultStore:
    """The results store: --store, or abkit.db beside the experiment file."""
    from abkit.store.store import DEFAULT_FILENAME, ResultStore

    return ResultStore(store or exp_yaml.resolve().parent / DEFAULT_FILENAME)


def parse_date(text: str | None) -> dt.date | None:
    """An --as-of date, or a one-line error naming the format."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise AbkitError(
            f"--as-of '{one_line(text, 40)}' is not a date; write it as YYYY-MM-DD"
        ) from None
