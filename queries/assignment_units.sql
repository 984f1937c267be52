{#
  assignment_units.sql: every assigned unit once, with what the health checks need.

  Purpose     one GROUP BY unit over the assignments, shared by the analysed
              population (exposures.sql reads it when `assignment_units` is set)
              and the exposure health counts (health_rows.sql), so the fused
              analysis groups the assignments once.
              (MIN = MAX is COUNT(DISTINCT) = 1 without a distinct aggregate.)
  Parameters  none (reads the `assignments` CTE of sources.sql).
  Output      unit_id, variant (MIN), multiple_variants (seen in two or more),
              first_exposure, n_rows (assignment rows of the unit).
  Grain       unit.
#}
    SELECT
        unit_id,
        MIN(variant) AS variant,
        COALESCE(MIN(variant) <> MAX(variant), FALSE) AS multiple_variants,
        MIN(exposed_at) AS first_exposure,
        COUNT(*) AS n_rows
    FROM assignments
    GROUP BY unit_id
