"""Engine fixtures: one local Spark session and the CI's Postgres server.

Spark: local[2], UI off, bound to 127.0.0.1, 4 shuffle partitions, stopped at the
end. Postgres: the server `.ci/postgres` starts; its DSN comes in through
ABKIT_TEST_POSTGRES_DSN, and the Postgres tests skip only when that is not set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

POSTGRES_DSN_VARIABLE = "ABKIT_TEST_POSTGRES_DSN"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("abkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE)
    if not dsn:
        pytest.skip(f"{POSTGRES_DSN_VARIABLE} is not set (.ci/run starts a server)")
    return dsn


def table_backed_copy(exp_yaml: Path, schema: str, target: Path) -> Path:
    """The example exp.yaml with every file source replaced by table `schema.<name>`."""
    spec = yaml.safe_load(exp_yaml.read_text())
    for name, source in spec["data"].items():
        source.pop("path")
        source["table"] = f"{schema}.{name}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(exp_yaml.parent / spec.get("metrics_file", "metrics.yaml"), target)
    path = target / "exp.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
