"""examples/notebook.ipynb runs top to bottom and prints the numbers the CLI gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from typer.testing import CliRunner

from abkit.frontends.cli import app

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def printed_json(notebook: nbformat.NotebookNode) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("{"):
                    found |= json.loads(line)
    return found


def test_notebook_executes_and_matches_the_cli(demo_exp, monkeypatch):
    monkeypatch.setenv("ABKIT_EXAMPLE", str(demo_exp))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()  # fmt: skip
    numbers = printed_json(notebook)
    cli = CliRunner().invoke(app, ["analyze", str(demo_exp), "--format", "json"])
    messages = next(m for m in json.loads(cli.stdout)["metrics"]
                    if m["metric"] == "messages_per_user")  # fmt: skip
    by_hand = numbers["by_hand"]
    assert by_hand["lift"] == pytest.approx(messages["unadjusted_relative"], rel=1e-9)
    assert by_hand["pvalue"] == pytest.approx(messages["unadjusted_pvalue"], rel=1e-9)
    for source in ("cuped_by_hand", "api"):
        assert numbers[source]["lift"] == pytest.approx(messages["relative"], rel=1e-9)
        assert numbers[source]["pvalue"] == pytest.approx(messages["pvalue"], rel=1e-9)
    assert os.environ["ABKIT_EXAMPLE"] == str(demo_exp)
