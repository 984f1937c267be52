{#
  replay_arm.sql: the A/A replay's pseudo-arm of a unit in one run (an expression).

  Purpose     'A' when hash(randomization unit || '|seed|' || run) is even, else
              'B'; the randomization unit is the unit's cluster when exp.yaml names
              one (units of a cluster move together), else the unit id. The one
              definition of the re-assignment, shared by aa_replay.sql and
              aa_replay_quantiles.sql.
  Parameters  seed (int); cluster: truthy when a cluster column is named. Expects
              the aliases v (rows with unit_id), c (unit_clusters, when cluster)
              and r (runs).
  Output      an expression: 'A' or 'B'.
#}
CASE
            WHEN hash(
                {%- if cluster %}
                COALESCE(c.cluster_id, CAST(v.unit_id AS VARCHAR))
                {%- else %}
                CAST(v.unit_id AS VARCHAR)
                {%- endif %}
                || '|{{ seed }}|' || CAST(r.run AS VARCHAR)
            ) % 2 = 0 THEN 'A'
            ELSE 'B'
        END
