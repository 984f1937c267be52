{#
  exposure_health.sql: counts behind the exposure health checks.

  Purpose     how many units each logged variant has, how many units were seen in
              more than one variant (excluded from the analysis) and the exposure
              and event time range that bounds the data window.
              Split by first-exposure day, the same rows give the daily
              exposures of the per-day and sequential SRM checks
              (daily_exposures.sql's numbers). A full analysis gets these rows
              from its fused query (analysis_and_health.sql); this one query is
              for the incremental refresh, which keeps them.
  Parameters  none beyond sources.sql.
  Output      as health_rows.sql (no prefix).
  Grain       variant x multiple_variants x exposure day.
#}
WITH
{% include "sources.sql" %},
assignment_units AS (
{% include "assignment_units.sql" %}
),
event_range AS (
    SELECT MAX(ts) AS last_event FROM events
)
{%- set prefix = "" %}
{% include "health_rows.sql" %}
ORDER BY 2, 1, 3
