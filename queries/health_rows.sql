{#
  health_rows.sql: the exposure health counts, per variant and exposure day.

  Purpose     the body of exposure_health.sql, also the health part of the fused
              analysis (analysis_and_health.sql).
  Parameters  prefix: put before every output name ('' standalone).
              Reads the CTEs `assignment_units` and `event_range` (last_event).
  Output      [prefix]variant (NULL for units in several variants),
              [prefix]multiple_variants, [prefix]exposure_day (DATE of the first
              exposure), [prefix]n_units, [prefix]n_rows, [prefix]first_exposure,
              [prefix]last_exposure, [prefix]last_event.
  Grain       variant x multiple_variants x exposure day.
#}
    SELECT
        CASE WHEN u.multiple_variants THEN NULL ELSE u.variant END AS {{ prefix }}variant,
        u.multiple_variants AS {{ prefix }}multiple_variants,
        CAST(u.first_exposure AS DATE) AS {{ prefix }}exposure_day,
        COUNT(*) AS {{ prefix }}n_units,
        SUM(u.n_rows) AS {{ prefix }}n_rows,
        MIN(u.first_exposure) AS {{ prefix }}first_exposure,
        MAX(u.first_exposure) AS {{ prefix }}last_exposure,
        MAX(r.last_event) AS {{ prefix }}last_event
    FROM assignment_units AS u
    CROSS JOIN event_range AS r
    GROUP BY
        CASE WHEN u.multiple_variants THEN NULL ELSE u.variant END,
        u.multiple_variants,
        CAST(u.first_exposure AS DATE)
