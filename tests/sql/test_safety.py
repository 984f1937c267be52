"""User expressions are one safe scalar expression, or refused with a clear message."""

from __future__ import annotations

import pytest
import yaml

from abkit.analysis.run import analyze
from abkit.errors import QueryError
from abkit.sql.safety import EVENT_COLUMNS, safe_expression
from tests.conftest import write_tiny

INJECTIONS = [
    ("(SELECT 1)", "is not allowed"),
    ("value + (SELECT max(amount) FROM events)", "is not allowed"),
    ("read_csv('{canary}')", "function 'read_csv'"),
    ("read_parquet('{canary}')", "function 'read_parquet'"),
    ("read_text('{canary}')", "function 'read_text'"),
    ("length((SELECT content FROM read_text('{canary}')))", "not allowed"),
    ("glob('/etc/*')", "function 'glob'"),
    ("1; COPY events TO '/tmp/out.csv'", "statements"),
    ("1); ATTACH '/tmp/x.db' AS x; --", "cannot parse|statements"),
    ("value; INSTALL httpfs", "statements"),
    ("value; LOAD httpfs", "statements"),
    ("value; PRAGMA version", "statements"),
    ("value; SET enable_external_access = true", "statements"),
    ("getenv('HOME')", "function 'getenv'"),
    ("current_setting('threads')", "function 'current_setting'"),
    ("sum(value)", "function 'sum'"),
    ("value IN (SELECT partner_id FROM events)", "is not allowed"),
    ("secret_column * 2", "unknown column 'secret_column'"),
    ("e.value", "unknown column 'e.value'"),
    (
        "value) FILTER (WHERE 1=1) AS x, (SELECT 1",
        "cannot parse|statements|not allowed",
    ),
    ("EXISTS (SELECT 1)", "not allowed"),
    ("query_table('events')", "function 'query_table'"),
]


@pytest.mark.parametrize(("expression", "message"), INJECTIONS)
def test_injection_is_refused(expression, message, tmp_path):
    canary = tmp_path / "secret.csv"
    with pytest.raises(QueryError, match=message):
        safe_expression(
            expression.format(canary=canary), EVENT_COLUMNS, "metric 'm' value"
        )


@pytest.mark.parametrize(
    ("expression", "rendered"),
    [
        ("value * 2", "value * 2"),
        ("least(value, 100)", "LEAST(value, 100)"),
        (
            "CASE WHEN value > 3 THEN 1 ELSE 0 END",
            "CASE WHEN value > 3 THEN 1 ELSE 0 END",
        ),
        (
            "event = 'like' and partner_id is not null",
            "event = 'like' AND NOT partner_id IS NULL",
        ),
        ("date_part('hour', ts) < 6", "DATE_PART('hour', ts) < 6"),
    ],
)
def test_safe_expressions_are_re_rendered(expression, rendered):
    assert safe_expression(expression, EVENT_COLUMNS, "m") == rendered


@pytest.mark.parametrize(("expression", "message"), INJECTIONS[:8])
def test_injection_in_metrics_yaml_never_reads_the_file(expression, message, tmp_path):
    canary = tmp_path / "canary.csv"
    canary.write_text("secret\n42\n")
    path = write_tiny(tmp_path / "e")
    metrics = yaml.safe_load((path.parent / "metrics.yaml").read_text())
    metrics["metrics"]["revenue"]["filter"] = expression.format(canary=canary)
    (path.parent / "metrics.yaml").write_text(yaml.safe_dump(metrics))
    before = canary.stat().st_atime_ns
    with pytest.raises(QueryError, match="metric 'revenue' filter"):
        analyze(path)
    assert canary.stat().st_atime_ns == before
