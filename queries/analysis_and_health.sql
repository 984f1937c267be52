{#
  analysis_and_health.sql: a full analysis's one statement.

  Purpose     analysis.sql's moments and exposure_health.sql's rows from one
              statement, so the assignments are grouped by unit once
              (assignment_units.sql) for both the analysed population and the
              health counts, and the engine plans and runs one query.
              The two results have different columns: a FULL JOIN ON FALSE puts
              them side by side, each row holding one part and NULLs in the
              other's columns. The events CTE is read twice (the scan and its
              last timestamp, which DuckDB answers from Parquet statistics), so it
              is marked NOT MATERIALIZED (`not_materialized`), or DuckDB would
              store the whole log. DuckDB only: Postgres plans this shape several
              times slower than the two queries apart.
  Parameters  everything analysis.sql takes; assignment_units = true.
  Output      moments.sql's columns and health_rows.sql's with prefix `health__`;
              a row is a health row exactly when health__n_units is not NULL.
  Grain       moments.sql's rows, then health_rows.sql's.
#}
WITH
{% include "unit_chain.sql" %},
moments_rows AS (
{% include "moments.sql" %}
),
event_range AS (
    SELECT MAX(ts) AS last_event FROM events
),
health_rows AS (
{%- set prefix = "health__" %}
{% include "health_rows.sql" %}
)
SELECT m.*, h.*
FROM moments_rows AS m
FULL JOIN health_rows AS h
    ON FALSE
