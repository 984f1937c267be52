{#
  daily_exposures.sql: newly exposed units per variant and exposure day.

  Purpose     the per-day sample-ratio check (a split that drifts on one day points
              at a deploy or a logging change) and the daily cumulative counts of
              the sequential SRM test.
  Parameters  as sources.sql; variants (quoted literals).
  Output      exposure_day (DATE), variant, n_units.
  Grain       exposure day x variant.
#}
WITH
{% include "sources.sql" %},
exposures AS (
{% include "exposures.sql" %}
)
SELECT
    CAST(exposed_at AS DATE) AS exposure_day,
    variant,
    COUNT(*) AS n_units
FROM exposures
WHERE variant IN ({{ variants | join(", ") }})
GROUP BY CAST(exposed_at AS DATE), variant
ORDER BY exposure_day, variant
