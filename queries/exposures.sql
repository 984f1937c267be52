{#
  exposures.sql: the analysed population, one row per unit.

  Purpose     the first exposure of each unit. A unit seen in two or more variants
              (a logging or assignment bug) is excluded here and counted by
              exposure_health.sql. A unit whose every variant is NULL has none.
  Parameters  assignment_units (optional): read the per-unit rows of
              assignment_units.sql (a CTE the caller defines) instead of grouping
              the `assignments` CTE of sources.sql again.
              (MIN = MAX is COUNT(DISTINCT) = 1 without a distinct aggregate.)
  Output      unit_id, variant, exposed_at (first exposure).
  Grain       unit.
#}
{%- if assignment_units is defined and assignment_units %}
    SELECT
        unit_id,
        variant,
        first_exposure AS exposed_at
    FROM assignment_units
    WHERE NOT multiple_variants AND variant IS NOT NULL
{%- else %}
    SELECT
        unit_id,
        MIN(variant) AS variant,
        MIN(exposed_at) AS exposed_at
    FROM assignments
    GROUP BY unit_id
    HAVING MIN(variant) = MAX(variant)
{%- endif %}
