"""examples/notebook.ipynb as saved: the API first, outputs included."""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"


def test_the_notebook_shows_the_api_first_with_its_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "abkit.analyze(" in code[1].source  # right after the setup cell
    assert all(cell.outputs for cell in code[1:]), "saved without outputs"
    printed = "".join(o.get("text", "") for o in code[1].outputs)
    assert "Decision:" in printed and "guardrail report_rate" in printed
    assert len(printed.splitlines()) < 45  # a compact print(result)
    assert "/tmp/" not in NOTEBOOK.read_text()  # no machine paths in the outputs
