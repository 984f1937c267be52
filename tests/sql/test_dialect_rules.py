"""Each warehouse dialect's known rules, checked on every query abkit renders for it.

BigQuery, Snowflake and Trino cannot run here; these rules catch what their engines
would refuse (the Spark and Postgres SQL is executed in tests/engines/). Every
statement must also parse back with sqlglot in its dialect.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot

from abkit.analysis.query_plan import analysis_queries
from abkit.config import load_experiment
from abkit.errors import QueryError
from abkit.sql.dialects import Dialect
from tests.sql.test_golden import golden_experiment

FIXTURES = Path(__file__).parent / "fixtures"
EVERY_WAREHOUSE: tuple[Dialect, ...] = (
    "spark",
    "bigquery",
    "snowflake",
    "trino",
    "postgres",
)

# Patterns each dialect's engine refuses (or, for percentiles, would approximate).
FORBIDDEN: dict[str, dict[str, str]] = {
    "spark": {
        "PERCENTILE_CONT(": "Spark has no PERCENTILE_CONT(x, p) aggregate",
        "PERCENTILE_APPROX(": "approximate percentile",
        "APPROX_PERCENTILE(": "approximate percentile",
        "QUANTILE_CONT(": "DuckDB-only function",
        "READ_PARQUET(": "DuckDB table function",
    },
    "postgres": {
        "QUANTILE_CONT(": "DuckDB-only function",
        "PERCENTILE(": "no PERCENTILE aggregate in Postgres",
        "READ_PARQUET(": "DuckDB table function",
        "READ_CSV": "DuckDB table function",
    },
    "snowflake": {
        "QUANTILE_CONT(": "DuckDB-only function",
        "FILTER(": "Snowflake has no FILTER clause",
        "APPROX_PERCENTILE(": "approximate percentile",
        "READ_PARQUET(": "DuckDB table function",
    },
    "bigquery": {
        "PERCENTILE_CONT(": "BigQuery's PERCENTILE_CONT is window-only",
        "APPROX_QUANTILES(": "approximate percentile",
        "FILTER(": "BigQuery has no FILTER clause",
        "QUANTILE_CONT(": "DuckDB-only function",
        "READ_PARQUET(": "DuckDB table function",
    },
    "trino": {
        "MICROSECOND": "Trino has no MICROSECOND interval",
        "PERCENTILE_CONT(": "Trino has no PERCENTILE_CONT",
        "APPROX_PERCENTILE(": "approximate percentile",
        "QUANTILE_CONT(": "DuckDB-only function",
        "READ_PARQUET(": "DuckDB table function",
    },
}
# Interval literals each dialect accepts: Spark/BigQuery/Trino INTERVAL '3' DAY,
# Postgres/Snowflake INTERVAL '3 DAY'.
INTERVAL_FORM = {
    "spark": r"INTERVAL '\d+' (DAY|MICROSECOND)",
    "bigquery": r"INTERVAL '\d+' (DAY|MICROSECOND)",
    "trino": r"INTERVAL '\d+' DAY",
    "postgres": r"INTERVAL '\d+ (DAY|MICROSECOND)'",
    "snowflake": r"INTERVAL '\d+ (DAY|MICROSECOND)'",
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    return {d: analysis_queries(golden_experiment(d), d) for d in EVERY_WAREHOUSE}


@pytest.mark.parametrize("dialect", EVERY_WAREHOUSE)
def test_no_function_or_interval_the_dialect_lacks(rendered, dialect):
    for name, sql in rendered[dialect].items():
        text = sql.upper()
        for pattern, why in FORBIDDEN[dialect].items():
            assert pattern not in text.replace(" (", "("), f"{dialect} {name}: {why}"
        intervals = re.findall(r"INTERVAL [^,)]*?(?:DAY|MICROSECOND)'?", text)
        assert intervals or name != "moments"
        for interval in intervals:
            assert re.fullmatch(INTERVAL_FORM[dialect], interval), (dialect, interval)
        assert sqlglot.parse_one(sql, read=dialect) is not None


@pytest.mark.parametrize(
    ("dialect", "exact"),
    [("spark", "PERCENTILE("), ("postgres", "PERCENTILE_CONT(0.99) WITHIN GROUP"),
     ("snowflake", "PERCENTILE_CONT(0.99) WITHIN GROUP")],
)  # fmt: skip
def test_caps_use_the_dialects_exact_percentile(rendered, dialect, exact):
    assert exact in rendered[dialect]["moments"]


@pytest.mark.parametrize("dialect", ["bigquery", "trino"])
def test_approximate_only_dialects_refuse_winsorized_caps(dialect):
    experiment = load_experiment(FIXTURES / "exp.yaml")
    with pytest.raises(QueryError, match="only approximate percentiles") as info:
        analysis_queries(experiment, dialect)
    assert "revenue_per_user" in str(info.value)
    assert "\n" not in str(info.value)


def test_trino_day_key_is_exact_without_microseconds(rendered):
    moments = rendered["trino"]["moments"]
    assert "CAST(CAST(x.exposed_at AS DATE) AS TIMESTAMP)" in moments


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "trino", "postgres"])
def test_warehouses_refuse_file_sources_naming_the_fix(tiny_exp, dialect):
    with pytest.raises(QueryError, match=r"cannot read the parquet file .*`table:`"):
        analysis_queries(load_experiment(tiny_exp), dialect)


def test_spark_reads_parquet_files_and_refuses_csv(tiny_exp):
    sql = analysis_queries(load_experiment(tiny_exp), "spark")["moments"]
    assert "parquet.`" in sql
    csv = tiny_exp.read_text().replace("events.parquet", "events.csv")
    tiny_exp.write_text(csv)
    with pytest.raises(QueryError, match=r"spark cannot read the csv file .*Parquet"):
        analysis_queries(load_experiment(tiny_exp), "spark")


def test_abkit_sql_prints_every_query_in_run_order(tiny_exp):
    from typer.testing import CliRunner

    from abkit.frontends.cli import app

    printed = CliRunner().invoke(app, ["sql", str(tiny_exp), "--dialect", "spark"])
    assert printed.exit_code == 0, printed.output
    names = re.findall(r"^-- abkit: (\w+)$", printed.stdout, flags=re.M)
    assert names == list(analysis_queries(load_experiment(tiny_exp), "spark"))
    assert names[:2] == ["moments", "exposure_health"]  # one statement on DuckDB
    golden = list(analysis_queries(golden_experiment("duckdb"), "duckdb"))
    # exposure health, day since exposure and new exposures per day are rows and
    # columns of the one moments statement, not runs of their own
    assert golden == ["moments", "contamination"]


@pytest.mark.parametrize("dialect", ["duckdb", "trino"])
def test_every_day_before_form_gives_the_date_of_the_instant_before(dialect):
    import duckdb

    from abkit.sql.dialects import day_before

    cases = {
        "2026-10-05 00:00:00": "2026-10-04",
        "2026-10-05 00:00:00.000001": "2026-10-05",
        "2026-10-05 23:59:59.999999": "2026-10-05",
    }
    for instant, day in cases.items():
        sql = day_before(dialect, f"CAST('{instant}' AS TIMESTAMP)")
        row = duckdb.connect().execute(f"SELECT {sql}").fetchone()
        assert row is not None
        assert str(row[0]) == day, (dialect, instant)


@pytest.mark.parametrize("dialect", ["duckdb", "trino"])
def test_every_microseconds_form_is_exact_across_a_day(dialect):
    import duckdb

    from abkit.sql.dialects import microseconds_between

    day = 86_400_000_000
    start = "2026-10-05 12:00:00"
    cases = {  # Trino's TIMESTAMP holds milliseconds: its cases are whole ms
        "2026-10-06 12:00:00": day,
        "2026-10-06 11:59:59.999": day - 1000,
        "2026-10-05 12:00:00": 0,
        "2026-10-05 11:59:59.999": -1000,
        "2026-09-21 12:00:00": -14 * day,
    }
    if dialect == "duckdb":
        cases |= {
            "2026-10-06 11:59:59.999999": day - 1,
            "2026-10-05 11:59:59.999999": -1,
        }
    for end, expected in cases.items():
        sql = microseconds_between(
            dialect, f"CAST('{start}' AS TIMESTAMP)", f"CAST('{end}' AS TIMESTAMP)"
        )
        row = duckdb.connect().execute(f"SELECT {sql}").fetchone()
        assert row == (expected,), (dialect, end)
