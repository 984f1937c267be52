"""The CLI's help and messages: no `<bool>` after flags, no internal names."""

from __future__ import annotations

from typer.testing import CliRunner

from abkit.frontends.cli import app

runner = CliRunner()


def test_flags_show_no_bool_placeholder():
    for command in ([], ["analyze"], ["report"], ["plan"]):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output, command
    analyze = runner.invoke(app, ["analyze", "--help"], env={"COLUMNS": "100"})
    assert "--verbose" in analyze.output and "<path>" in analyze.output


def test_an_unknown_decision_names_the_choices_not_an_internal_function(tiny_exp):
    result = runner.invoke(
        app, ["decide", str(tiny_exp), "keep", "--why", "w", "--author", "a"]
    )
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message == (
        "error: decision 'keep' is not known: use ship, iterate, stop, extend"
    )
    assert "ResultStore" not in result.output
    assert not (tiny_exp.parent / "abkit.db").exists()
    typo = runner.invoke(
        app, ["decide", str(tiny_exp), "shipp", "--why", "w", "--author", "a"]
    )
    assert "did you mean 'ship'?" in typo.stderr
