{#
  aa_replay.sql: the experiment's own units re-assigned at random many times.

  Purpose     A/A replay: every exposed unit gets, in each run, a pseudo-arm 'A' or
              'B' from a seeded hash of its randomization unit (the cluster column
              when exp.yaml names one, else the unit id), so units of one cluster
              move together as they did in the real assignment. One scan of the
              events (unit_chain.sql) feeds every run: the per-unit values are
              cross-joined with the runs and reduced to moments per run and arm,
              overall and per exposure day (the daily looks of sequential tests).
  Parameters  everything unit_chain.sql takes; metrics as moments.sql; runs (int);
              seed (int); cluster: {relation, unit_id, column} or None.
  Output      run, variant ('A' or 'B'), exposure_key (NULL on the overall rows),
              n_units, and per metric the moments.sql columns.
  Grain       run x pseudo-arm, and run x pseudo-arm x exposure day.
  The pseudo-arm is replay_arm.sql's; quantile metrics are replayed by
  aa_replay_quantiles.sql with the same re-assignment.
#}
WITH
{% include "unit_chain.sql" %},
{%- if cluster %}
{% include "unit_clusters.sql" %}
{%- endif %}
runs AS (
    SELECT CAST(range AS BIGINT) AS run FROM range({{ runs }})
),
replayed AS (
    SELECT
        r.run,
        {% include "replay_arm.sql" %} AS variant,
        v.* EXCLUDE (variant)
    FROM unit_values AS v
    {%- if cluster %}
    LEFT JOIN unit_clusters AS c
        ON v.unit_id = c.unit_id
    {%- endif %}
    CROSS JOIN runs AS r
)
SELECT
    run,
    variant,
    exposure_key,
    COUNT(*) AS n_units
    {%- for m in metrics %},
    COUNT("{{ m.name }}") AS "{{ m.name }}__n"
    {%- for v in m.variables %},
    SUM(CAST("{{ v.column }}" AS DOUBLE)) AS "{{ v.column }}__sum",
    SUM(CAST("{{ v.column }}" AS DOUBLE) * CAST("{{ v.column }}" AS DOUBLE)) AS "{{ v.column }}__sum_sq"
    {%- endfor %}
    {%- for p in m.pairs %},
    SUM(CAST("{{ p.left.column }}" AS DOUBLE) * CAST("{{ p.right.column }}" AS DOUBLE)) AS "{{ p.column }}"
    {%- endfor %}
    {%- endfor %}
FROM replayed
GROUP BY GROUPING SETS ((run, variant), (run, variant, exposure_key))
ORDER BY run, variant, exposure_key NULLS FIRST
