{#
  exposure_health.sql: counts behind the exposure health checks.

  Purpose     how many units each logged variant has, how many units were seen in
              more than one variant (excluded from the analysis) and the exposure
              and event time range that bounds the data window.
  Parameters  none beyond sources.sql.
              Split by first-exposure day, the same rows give the daily
              exposures of the per-day and sequential SRM checks
              (daily_exposures.sql's numbers), so the analysis reads the
              assignments once for both.
  Output      variant (NULL for units in several variants), multiple_variants,
              exposure_day (DATE of the first exposure), n_units, n_rows,
              first_exposure, last_exposure, last_event.
  Grain       variant x multiple_variants x exposure day.
#}
WITH
{% include "sources.sql" %},
per_unit AS (
    SELECT
        unit_id,
        COALESCE(MIN(variant) <> MAX(variant), FALSE) AS multiple_variants,
        MIN(variant) AS variant,
        MIN(exposed_at) AS first_exposure,
        COUNT(*) AS n_rows
    FROM assignments
    GROUP BY unit_id
),
event_range AS (
    SELECT MAX(ts) AS last_event FROM events
)
SELECT
    CASE WHEN multiple_variants THEN NULL ELSE variant END AS variant,
    multiple_variants,
    CAST(first_exposure AS DATE) AS exposure_day,
    COUNT(*) AS n_units,
    SUM(n_rows) AS n_rows,
    MIN(first_exposure) AS first_exposure,
    MAX(first_exposure) AS last_exposure,
    MAX(event_range.last_event) AS last_event
FROM per_unit
CROSS JOIN event_range
GROUP BY 1, 2, 3
ORDER BY 2, 1, 3
