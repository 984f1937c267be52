"""Spark engine: the same analysis on a SparkSession (local or a cluster).

pyspark is an optional extra (`pip install 'abkit[spark]'`), imported only when a
Spark engine is built. Sources are Parquet paths (read by Spark SQL's
parquet.`path`) or catalog tables.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from abkit.config import Source
from abkit.errors import DataError, EngineError
from abkit.sql.dialects import Dialect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCAL_MASTER = "local[2]"
"""The default master: two local cores, no cluster needed."""


def spark_session(master: str = LOCAL_MASTER) -> tuple[SparkSession, bool]:
    """A quiet Spark session for abkit: UI off, UTC, few shuffle partitions.

    A local master is bound to 127.0.0.1 so nothing listens on the network. Returns
    the session and whether abkit started it (False: one was already active, and
    abkit must not stop it).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "--engine spark needs pyspark; install it with pip install 'abkit[spark]'"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder: Any = SparkSession.builder.master(master).appName("abkit")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4" if master.startswith("local") else "200",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):
        settings |= {
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
        }
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as error:  # Java missing, bad master URL
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise EngineError(
            f"cannot start Spark at {master}: {type(error).__name__} {first}; check "
            "Java (JAVA_HOME) and --spark-master"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


class SparkEngine:
    """Run abkit SQL on Spark, on the user's session or one abkit starts.

    Args:
        session: an existing SparkSession (its catalog tables); None starts one.
        master: the master of a session abkit starts (default local[2]).
    """

    name = "spark"
    dialect: Dialect = "spark"

    def __init__(
        self, session: SparkSession | None = None, *, master: str | None = None
    ) -> None:
        if session is None:
            session, self._owned = spark_session(master or LOCAL_MASTER)
        else:
            self._owned = False
        self.session = session

    def columns(self, source: Source) -> list[str]:
        """Column names of a Parquet path or catalog table, reading only its schema."""
        try:
            if source.path is not None:
                frame = self.session.read.parquet(source.path)
            else:
                assert source.table is not None
                frame = self.session.table(source.table)
            return list(frame.columns)
        except Exception as error:  # AnalysisException and friends
            where = source.path or source.table
            fix = (
                "check data: path in exp.yaml"
                if source.path
                else "check the table name"
            )
            raise DataError(
                f"cannot read {where} on Spark: {_first_line(error)}; {fix}"
            ) from None

    def query(self, sql: str) -> pa.Table:
        """Run one query and return the result as Arrow."""
        try:
            with warnings.catch_warnings():  # pyspark warns about pandas versions
                warnings.simplefilter("ignore", FutureWarning)
                frame = self.session.sql(sql)
                if hasattr(frame, "toArrow"):  # pyspark >= 4
                    table: pa.Table = frame.toArrow()
                else:
                    table = pa.Table.from_pandas(frame.toPandas(), preserve_index=False)
        except Exception as error:  # Spark raises its own exception types
            raise EngineError(
                f"Spark failed on abkit's query: {_first_line(error)}; run "
                "`abkit sql --dialect spark` to inspect the SQL"
            ) from None
        return table

    def close(self) -> None:
        """Stop the session if abkit started it."""
        if self._owned:
            self.session.stop()


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
