{#
  cluster_moments.sql: per-arm sums over clusters, for cluster-randomized designs.

  Purpose     the randomization unit is a cluster (data.assignments.cluster, e.g.
              city) while metrics are per analysis unit (the user). Per-unit values
              (unit_chain.sql) are reduced once to their finest cell (variant x
              cluster x exposure key x segment values); GROUPING SETS roll those
              cells up to a cluster's sums overall, within each segment value (over
              the cluster's units in it) and per exposure key; the cluster sums are
              then reduced to the few per-arm sums a cluster-robust (delta-method)
              variance, the design effect and the ICC need.
              Daily looks: Σ_c Y_c² is not additive over exposure keys, but its
              increments are. Per cluster, the sums are accumulated over the keys in
              order (Y_c(k) = the cluster's sum over its units with key <= k), and
              each key's row holds the increments Y_c(k)² − Y_c(k−1)², D_c(k)² −
              D_c(k−1)², Y_c(k)·D_c(k) − Y_c(k−1)·D_c(k−1), Y_c²/N_c likewise, and
              1 in <m>__clusters on the cluster's first key with an analysed unit.
              Summed over the keys up to a look's last key, per arm, they are the
              sums of the look's clusters over the look's units, so a look is a
              running sum of these rows exactly like moments.sql's daily rows. On
              the overall and segment rows each cluster is one partition of one row,
              so the same formulas give Y_c², D_c², ... directly.
  Own pass    only for cluster-randomized designs: squares of cluster sums cannot
              be derived from the per-unit moments, so the per-unit values are
              reduced again at the cluster grain (unit_chain.sql rerun).
  Parameters  everything unit_chain.sql takes; cluster: {relation, unit_id,
              column}; cluster_metrics: list of {name, value (column), den (column
              or None)}; segments: list of {alias}.
  Output      variant, exposure_key (NULL except on the daily rows), one column per
              segment (NULL except on that segment's rows), clusters (clusters with
              a unit; on daily rows: clusters whose first unit has that key), and
              per metric <m>__clusters, <m>__units, <m>__y, <m>__y_sq, <m>__d,
              <m>__yc_sq, <m>__dc_sq, <m>__yd, <m>__y_sq_over_units (Y: a cluster's
              sum of values, D: its units or, for a ratio, its sum of denominators;
              increments on the daily rows).
  Grain       variant (overall), variant x value of each segment, variant x
              exposure key.
#}
WITH
{% include "unit_chain.sql" %},
{% include "unit_clusters.sql" %}
cells AS (
    SELECT
        v.variant,
        COALESCE(c.cluster_id, CAST(v.unit_id AS VARCHAR)) AS cluster_id,
        v.exposure_key
        {%- for s in segments %},
        v."{{ s.alias }}"
        {%- endfor %}
        {%- for m in cluster_metrics %},
        COUNT("{{ m.value }}") AS "{{ m.name }}__units",
        COALESCE(SUM(CAST("{{ m.value }}" AS DOUBLE)), 0) AS "{{ m.name }}__y",
        COALESCE(SUM(CAST("{{ m.value }}" AS DOUBLE) * CAST("{{ m.value }}" AS DOUBLE)), 0) AS "{{ m.name }}__y_sq",
        {%- if m.den %}
        COALESCE(SUM(CAST("{{ m.den }}" AS DOUBLE)), 0) AS "{{ m.name }}__d"
        {%- else %}
        CAST(COUNT("{{ m.value }}") AS DOUBLE) AS "{{ m.name }}__d"
        {%- endif %}
        {%- endfor %}
    FROM unit_values AS v
    LEFT JOIN unit_clusters AS c
        ON v.unit_id = c.unit_id
    GROUP BY
        v.variant,
        COALESCE(c.cluster_id, CAST(v.unit_id AS VARCHAR)),
        v.exposure_key
        {%- for s in segments %}, v."{{ s.alias }}"{% endfor %}
),
cluster_sums AS (
    SELECT
        variant,
        cluster_id,
        exposure_key
        {%- for s in segments %},
        "{{ s.alias }}"
        {%- endfor %}
        {%- for m in cluster_metrics %},
        SUM("{{ m.name }}__units") AS "{{ m.name }}__units",
        SUM("{{ m.name }}__y") AS "{{ m.name }}__y",
        SUM("{{ m.name }}__y_sq") AS "{{ m.name }}__y_sq",
        SUM("{{ m.name }}__d") AS "{{ m.name }}__d"
        {%- endfor %}
    FROM cells
    GROUP BY GROUPING SETS (
        (variant, cluster_id),
        (variant, cluster_id, exposure_key)
        {%- for s in segments %},
        (variant, cluster_id, "{{ s.alias }}")
        {%- endfor %}
    )
),
running AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY variant, cluster_id, CASE WHEN exposure_key IS NULL THEN 0 ELSE 1 END
            {%- for s in segments %}, "{{ s.alias }}"{% endfor %}
            ORDER BY exposure_key
        ) AS cluster_row
        {%- for m in cluster_metrics %}
        {%- for part in ("units", "y", "d") %},
        SUM("{{ m.name }}__{{ part }}") OVER (
            PARTITION BY variant, cluster_id, CASE WHEN exposure_key IS NULL THEN 0 ELSE 1 END
            {%- for s in segments %}, "{{ s.alias }}"{% endfor %}
            ORDER BY exposure_key ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS "{{ m.name }}__cum_{{ part }}"
        {%- endfor %}
        {%- endfor %}
    FROM cluster_sums
),
increments AS (
    SELECT
        variant,
        exposure_key
        {%- for s in segments %},
        "{{ s.alias }}"
        {%- endfor %},
        CASE WHEN cluster_row = 1 THEN 1 ELSE 0 END AS new_cluster
        {%- for m in cluster_metrics %}
        {%- set units %}"{{ m.name }}__units"{% endset %}
        {%- set y %}"{{ m.name }}__y"{% endset %}
        {%- set d %}"{{ m.name }}__d"{% endset %}
        {%- set cum_units %}"{{ m.name }}__cum_units"{% endset %}
        {%- set cum_y %}"{{ m.name }}__cum_y"{% endset %}
        {%- set cum_d %}"{{ m.name }}__cum_d"{% endset %},
        CASE WHEN {{ cum_units }} > 0 AND {{ cum_units }} = {{ units }} THEN 1 ELSE 0 END AS "{{ m.name }}__clusters",
        {{ units }} AS "{{ m.name }}__units",
        {{ y }} AS "{{ m.name }}__y",
        "{{ m.name }}__y_sq" AS "{{ m.name }}__y_sq",
        {{ d }} AS "{{ m.name }}__d",
        {{ y }} * (2 * {{ cum_y }} - {{ y }}) AS "{{ m.name }}__yc_sq",
        {{ d }} * (2 * {{ cum_d }} - {{ d }}) AS "{{ m.name }}__dc_sq",
        {{ y }} * {{ cum_d }} + {{ d }} * {{ cum_y }} - {{ y }} * {{ d }} AS "{{ m.name }}__yd",
        CASE WHEN {{ cum_units }} > 0 THEN {{ cum_y }} * {{ cum_y }} / {{ cum_units }} ELSE 0 END
            - CASE WHEN {{ cum_units }} > {{ units }}
                THEN ({{ cum_y }} - {{ y }}) * ({{ cum_y }} - {{ y }}) / ({{ cum_units }} - {{ units }})
                ELSE 0 END AS "{{ m.name }}__y_sq_over_units"
        {%- endfor %}
    FROM running
)
SELECT
    variant,
    exposure_key
    {%- for s in segments %},
    "{{ s.alias }}"
    {%- endfor %},
    SUM(new_cluster) AS clusters
    {%- for m in cluster_metrics %},
    SUM("{{ m.name }}__clusters") AS "{{ m.name }}__clusters",
    SUM("{{ m.name }}__units") AS "{{ m.name }}__units",
    SUM("{{ m.name }}__y") AS "{{ m.name }}__y",
    SUM("{{ m.name }}__y_sq") AS "{{ m.name }}__y_sq",
    SUM("{{ m.name }}__d") AS "{{ m.name }}__d",
    SUM("{{ m.name }}__yc_sq") AS "{{ m.name }}__yc_sq",
    SUM("{{ m.name }}__dc_sq") AS "{{ m.name }}__dc_sq",
    SUM("{{ m.name }}__yd") AS "{{ m.name }}__yd",
    SUM("{{ m.name }}__y_sq_over_units") AS "{{ m.name }}__y_sq_over_units"
    {%- endfor %}
FROM increments
GROUP BY
    variant,
    exposure_key
    {%- for s in segments %}, "{{ s.alias }}"{% endfor %}
ORDER BY variant, exposure_key
