{#
  unit_clusters.sql: each unit's randomization cluster (city, school, match pair).

  Purpose     the cluster a unit was assigned with, for cluster-robust moments
              (cluster_moments.sql) and the A/A replay's re-assignment by cluster.
  Parameters  cluster: {unit_id, column, relation} of data.assignments.
  Output      unit_id, cluster_id (text; the first value if a unit has several).
  Grain       unit.
#}
unit_clusters AS (
    SELECT
        {{ cluster.unit_id }} AS unit_id,
        MIN(CAST({{ cluster.column }} AS VARCHAR)) AS cluster_id
    FROM {{ cluster.relation }}
    GROUP BY {{ cluster.unit_id }}
),
