{#
  aa_replay_quantiles.sql: the A/A replay of quantile metrics, every run in one query.

  Purpose     the values each quantile metric ranks (quantile_values.sql: per-unit
              values, or event values clustered by unit) are cross-joined with the
              runs; each row takes its unit's pseudo-arm of that run
              (replay_arm.sql, the re-assignment of aa_replay.sql), and
              quantile_bounds.sql ranks them per metric x run x pseudo-arm, so only
              the quantile, its bounding order statistics and the design-effect
              sums of each run and arm leave the engine.
  Parameters  everything unit_chain.sql takes; quantile_metrics and z as
              quantiles.sql; runs (int); seed (int); cluster: {relation, unit_id,
              column} or None.
  Output      metric, run, variant ('A' or 'B'), then the columns of
              quantile_bounds.sql (n, clusters, p, level, interval, quantile,
              lower_rank, upper_rank, lower, upper, minimum, deff, s_sum, ...).
  Grain       quantile metric x run x pseudo-arm.
#}
{%- set quantile_source = "replayed_quantiles" %}
{%- set quantile_keys = ["run", "variant"] %}
WITH
{% include "unit_chain.sql" %},
{%- if cluster %}
{% include "unit_clusters.sql" %}
{%- endif %}
quantile_values AS (
{% include "quantile_values.sql" %}
),
runs AS (
    SELECT CAST(range AS BIGINT) AS run FROM range({{ runs }})
),
replayed_quantiles AS (
    SELECT
        v.metric,
        r.run,
        {% include "replay_arm.sql" %} AS variant,
        v.unit_id,
        v.v
    FROM quantile_values AS v
    {%- if cluster %}
    LEFT JOIN unit_clusters AS c
        ON v.unit_id = c.unit_id
    {%- endif %}
    CROSS JOIN runs AS r
),
{% include "quantile_bounds.sql" %}
