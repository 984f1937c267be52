{#
  exposures.sql: the analysed population, one row per unit.

  Purpose     the first exposure of each unit. A unit seen in two or more variants
              (a logging or assignment bug) is excluded here and counted by
              exposure_health.sql.
  Parameters  none (reads the `assignments` CTE of sources.sql).
              (MIN = MAX is COUNT(DISTINCT) = 1 without a distinct aggregate.)
  Output      unit_id, variant, exposed_at (first exposure).
  Grain       unit.
#}
    SELECT
        unit_id,
        MIN(variant) AS variant,
        MIN(exposed_at) AS exposed_at
    FROM assignments
    GROUP BY unit_id
    HAVING MIN(variant) = MAX(variant)
