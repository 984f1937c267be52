"""`abkit demo` and `abkit app`: the demo data and the Streamlit app."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from abkit.errors import AbkitError
from abkit.frontends.app_launch import free_port, run_app, streamlit_command
from abkit.frontends.cli.common import (
    FormatOption,
    app,
    checked_format,
    emit,
    say,
    stderr,
    user_errors,
)
from abkit.resources import resource_dir


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
    raise typer.Exit(run_app(command))


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

    fmt = checked_format(output_format)
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
        say(f"demo data written to {data_dir}")
    exp_yaml = _ensure_examples(directory / "examples")
    with stderr.status("analysing…"):
        result = analyze(exp_yaml)
    emit(result, fmt, None)


def _ensure_examples(target: Path) -> Path:
    """The example exp.yaml, copied from the installed package when missing."""
    if not (target / "exp.yaml").is_file():
        shutil.copytree(resource_dir("examples"), target, dirs_exist_ok=True)
    return target / "exp.yaml"
