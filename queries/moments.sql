{#
  moments.sql: per-variant sufficient statistics, the only rows Python receives.

  Purpose     reduce per-unit values to n, Σy and Σy² per variant. Exposed units
              without any event count as zeros (LEFT JOIN + COALESCE).
  Parameters  metrics: list of {name}; variants: quoted literals of the configured
              variants (other variants are reported by exposure_health.sql).
  Output      variant, n_units, <metric>__sum, <metric>__sum_sq for every metric.
  Grain       variant.
#}
SELECT
    x.variant,
    COUNT(*) AS n_units
    {%- for m in metrics %},
    SUM(CAST(COALESCE(u."{{ m.name }}", 0) AS DOUBLE)) AS "{{ m.name }}__sum",
    SUM(CAST(COALESCE(u."{{ m.name }}", 0) AS DOUBLE) * CAST(COALESCE(u."{{ m.name }}", 0) AS DOUBLE)) AS "{{ m.name }}__sum_sq"
    {%- endfor %}
FROM exposures AS x
LEFT JOIN unit_metrics AS u
    ON x.unit_id = u.unit_id
WHERE x.variant IN ({{ variants | join(", ") }})
GROUP BY x.variant
ORDER BY x.variant
