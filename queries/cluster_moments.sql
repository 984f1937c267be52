{#
  cluster_moments.sql: per-arm sums over clusters, for cluster-randomized designs.

  Purpose     the randomization unit is a cluster (data.assignments.cluster, e.g.
              city) while metrics are per analysis unit (the user). Per-unit values
              (unit_chain.sql) are summed per cluster, then the cluster sums are
              reduced to the few per-arm sums a cluster-robust (delta-method)
              variance, the design effect and the ICC need.
  Parameters  everything unit_chain.sql takes; cluster: {relation, unit_id,
              column}; cluster_metrics: list of {name, value (column), den (column
              or None)}.
  Output      variant, clusters (all clusters of the arm), and per metric
              <m>__clusters, <m>__units, <m>__y, <m>__y_sq, <m>__d, <m>__yc_sq,
              <m>__dc_sq, <m>__yd, <m>__y_sq_over_units (Y: a cluster's sum of
              values, D: its units or, for a ratio, its sum of denominators).
  Grain       variant.
#}
WITH
{% include "unit_chain.sql" %},
{% include "unit_clusters.sql" %}
cluster_sums AS (
    SELECT
        v.variant,
        COALESCE(c.cluster_id, CAST(v.unit_id AS VARCHAR)) AS cluster_id
        {%- for m in cluster_metrics %},
        COUNT("{{ m.value }}") AS "{{ m.name }}__units",
        SUM(CAST("{{ m.value }}" AS DOUBLE)) AS "{{ m.name }}__y",
        SUM(CAST("{{ m.value }}" AS DOUBLE) * CAST("{{ m.value }}" AS DOUBLE)) AS "{{ m.name }}__y_sq",
        {%- if m.den %}
        SUM(CAST("{{ m.den }}" AS DOUBLE)) AS "{{ m.name }}__d"
        {%- else %}
        CAST(COUNT("{{ m.value }}") AS DOUBLE) AS "{{ m.name }}__d"
        {%- endif %}
        {%- endfor %}
    FROM unit_values AS v
    LEFT JOIN unit_clusters AS c
        ON v.unit_id = c.unit_id
    GROUP BY v.variant, COALESCE(c.cluster_id, CAST(v.unit_id AS VARCHAR))
)
SELECT
    variant,
    COUNT(*) AS clusters
    {%- for m in cluster_metrics %},
    COUNT(*) FILTER (WHERE "{{ m.name }}__units" > 0) AS "{{ m.name }}__clusters",
    SUM("{{ m.name }}__units") AS "{{ m.name }}__units",
    SUM("{{ m.name }}__y") AS "{{ m.name }}__y",
    SUM("{{ m.name }}__y_sq") AS "{{ m.name }}__y_sq",
    SUM("{{ m.name }}__d") AS "{{ m.name }}__d",
    SUM("{{ m.name }}__y" * "{{ m.name }}__y") AS "{{ m.name }}__yc_sq",
    SUM("{{ m.name }}__d" * "{{ m.name }}__d") AS "{{ m.name }}__dc_sq",
    SUM("{{ m.name }}__y" * "{{ m.name }}__d") AS "{{ m.name }}__yd",
    SUM("{{ m.name }}__y" * "{{ m.name }}__y" / "{{ m.name }}__units")
        FILTER (WHERE "{{ m.name }}__units" > 0) AS "{{ m.name }}__y_sq_over_units"
    {%- endfor %}
FROM cluster_sums
GROUP BY variant
ORDER BY variant
