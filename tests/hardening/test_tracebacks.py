"""Defect 4 of the hardening issue: each case is one line on stderr, never a traceback."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from abkit.config import load_experiment
from abkit.errors import ConfigError, QueryError
from tests.hardening.helpers import cli, one_line_error, tiny_case


def test_markup_in_a_metric_name_is_printed_literally(tmp_path):
    def markup(exp, _):
        exp["metrics"] = ["[/x]"]

    line = one_line_error(cli("analyze", tiny_case(tmp_path, markup)))
    assert "metrics[0] '[/x]' is not defined" in line


def test_markup_and_emoji_codes_in_data_values_are_printed_literally(tmp_path):
    def markup(exp, directory):
        exp["segments"] = ["platform"]
        exp["variants"] = {"[/x]": 0.5, "treatment": 0.5}
        units = pd.read_parquet(directory / "units.parquet")
        units["platform"] = units["platform"].replace("ios", "[/x] :x: [bold]")
        units.to_parquet(directory / "units.parquet")
        arms = pd.read_parquet(directory / "assignments.parquet")
        arms["arm"] = arms["arm"].replace("control", "[/x]")
        arms.to_parquet(directory / "assignments.parquet")

    result = cli("analyze", tiny_case(tmp_path, markup), "--segments")
    assert result.returncode == 0, result.stderr[-1000:]
    assert "treatment vs [/x]" in result.stdout
    assert "[/x] :x: [bold]" in result.stdout


def test_impossible_date_is_a_config_error(tmp_path):
    path = tiny_case(tmp_path)
    path.write_text(path.read_text() + "start: 2026-02-30\n")
    with pytest.raises(ConfigError, match="'2026-02-30' is not a real date"):
        load_experiment(path)


def test_impossible_time_is_a_config_error(tmp_path):
    path = tiny_case(tmp_path)
    path.write_text(path.read_text() + "start: 2026-03-01 25:00:00\n")
    with pytest.raises(ConfigError, match="is not a real date or time"):
        load_experiment(path)


def test_yaml_nested_500_deep_is_a_config_error(tmp_path):
    path = tiny_case(tmp_path)
    path.write_text(path.read_text() + "title: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(ConfigError, match="nested more than 40 levels"):
        load_experiment(path)


def test_3000_parentheses_is_a_query_error(tmp_path):
    def deep(exp, directory):
        catalogue = yaml.safe_load((directory / "metrics.yaml").read_text())
        catalogue["metrics"]["revenue"]["value"] = "(" * 3000 + "value" + ")" * 3000
        (directory / "metrics.yaml").write_text(yaml.safe_dump(catalogue))

    line = one_line_error(cli("sql", tiny_case(tmp_path, deep)))
    assert "RecursionError" not in line and "revenue" in line


@pytest.mark.parametrize("depth", [26, 200])
def test_nested_parentheses_are_refused_before_parsing(depth):
    from abkit.sql.safety import safe_expression

    with pytest.raises(QueryError, match="parentheses"):
        safe_expression("(" * depth + "value" + ")" * depth, ["value"], "m")


@pytest.mark.parametrize(
    "output", ["/nonexistent-folder/result.json", ".", "/dev/full"]
)
def test_unwritable_output_is_one_line(tmp_path, output):
    target = tmp_path if output == "." else output
    line = one_line_error(
        cli("analyze", tiny_case(tmp_path), "-f", "json", "-o", target)
    )
    assert line.startswith("error: cannot write --output")


@pytest.mark.parametrize(
    ("setting", "value"),
    [("prior_std", 1e-300), ("prior_std", 1e308), ("planned_units", 10**400)],
)
def test_extreme_settings_are_config_errors(tmp_path, setting, value):
    def extreme(exp, _):
        if setting == "prior_std":
            exp["bayesian"] = {"prior_std": value}
        else:
            exp["sequential"] = {"method": "gst", "planned_units": value}

    with pytest.raises(ConfigError, match=setting) as error:
        load_experiment(tiny_case(tmp_path, extreme))
    assert len(str(error.value)) <= 300


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--power", "2", "power 2 is not between 0 and 1"),
        ("--mde", "nan", "mde nan is not a relative lift"),
        ("--days", "-3", "days -3 is out of range"),
        ("--days", "100000000", "days 100,000,000 is out of range"),
    ],
)
def test_bad_plan_targets_are_one_line(tmp_path, option, value, words):
    line = one_line_error(cli("plan", tiny_case(tmp_path), option, value))
    assert words in line


def test_zero_variance_metric_in_history_is_a_plan_status(tmp_path):
    from abkit.analysis.planning import plan

    def constant(exp, directory):
        catalogue = yaml.safe_load((directory / "metrics.yaml").read_text())
        catalogue["metrics"]["zero"] = {
            "kind": "mean", "events": ["message"], "value": "0", "window": {"end_day": 7}
        }  # fmt: skip
        (directory / "metrics.yaml").write_text(yaml.safe_dump(catalogue))
        exp["metrics"] = ["zero", "messages"]

    result = plan(tiny_case(tmp_path, constant))
    statuses = {row.metric: row.status for row in result.rows}
    assert statuses["zero"] == "zero_variance"
    assert statuses["messages"] == "ok"
