{#
  quantiles.sql: per-arm quantiles and the order statistics bounding their CIs.

  Purpose     for each quantile metric and arm: N (values ranked), the p-quantile
              (order statistic of rank ceil(N*p), the inverse empirical CDF), and
              the order statistics at the ranks N*p -/+ z*sqrt(deff*N*p*(1-p))
              (Deng, Knoblich & Lu 2018, section 4). Unit level: one value per
              exposed unit (its windowed aggregate, as unit_values), deff = 1.
              Event level: every matching event's value inside the unit's window,
              clustered by unit; deff is the cluster-robust (delta-method) variance
              of the share of events <= the quantile over its binomial variance,
              from per-unit sums returned beside it (section 4.2).
  Parameters  everything unit_chain.sql takes; quantile_metrics: list of {name
              (quoted literal), column, p, level (unit | event), events (quoted
              literals), value, filter, start_day, end_day}; z: the two-sided
              critical value (a number); variants (quoted literals).
  Output      metric, variant, n, clusters, p, level, quantile, lower_rank,
              upper_rank, lower, upper, deff, s_sum, s_sq, m_sum, m_sq, sm
              (s: a unit's values <= quantile, m: its values).
  Grain       quantile metric x variant.
#}
WITH
{% include "unit_chain.sql" %},
quantile_params AS (
    SELECT * FROM (VALUES
    {%- for m in quantile_metrics %}
        ({{ m.name }}, CAST({{ m.p }} AS DOUBLE), '{{ m.level }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) AS t(metric, p, level)
),
quantile_values AS (
{%- for m in quantile_metrics %}
    {%- if not loop.first %}
    UNION ALL
    {%- endif %}
    {%- if m.level == "unit" %}
    SELECT {{ m.name }} AS metric, variant, unit_id AS cluster_id, CAST("{{ m.column }}" AS DOUBLE) AS v
    FROM unit_values
    WHERE "{{ m.column }}" IS NOT NULL
    {%- else %}
    SELECT {{ m.name }} AS metric, x.variant, x.unit_id AS cluster_id, e.v
    FROM (
        SELECT unit_id, ts, CAST({{ m.value }} AS DOUBLE) AS v
        FROM events
        WHERE event IN ({{ m.events | join(", ") }})
        {%- if m.filter %}
            AND ({{ m.filter }})
        {%- endif %}
    ) AS e
    INNER JOIN exposures AS x
        ON e.unit_id = x.unit_id
    CROSS JOIN data_end AS d
    WHERE x.variant IN ({{ variants | join(", ") }})
        AND e.v IS NOT NULL
        AND e.ts >= x.exposed_at + INTERVAL {{ m.start_day }} DAY
    {%- if m.end_day is not none %}
        AND e.ts < x.exposed_at + INTERVAL {{ m.end_day }} DAY
        AND x.exposed_at + INTERVAL {{ m.end_day }} DAY <= d.data_end
    {%- endif %}
    {%- endif %}
{%- endfor %}
),
ranked AS (
    SELECT
        v.metric,
        v.variant,
        v.cluster_id,
        v.v,
        ROW_NUMBER() OVER (PARTITION BY v.metric, v.variant ORDER BY v.v) AS r,
        COUNT(*) OVER (PARTITION BY v.metric, v.variant) AS n
    FROM quantile_values AS v
),
point AS (
    SELECT
        r.metric,
        r.variant,
        MAX(r.n) AS n,
        COUNT(DISTINCT r.cluster_id) AS clusters,
        MAX(q.p) AS p,
        MAX(q.level) AS level,
        MAX(r.v) FILTER (WHERE r.r = LEAST(GREATEST(CEIL(r.n * q.p), 1), r.n)) AS quantile
    FROM ranked AS r
    INNER JOIN quantile_params AS q
        ON r.metric = q.metric
    GROUP BY r.metric, r.variant
),
cluster_counts AS (
    SELECT
        r.metric,
        r.variant,
        r.cluster_id,
        CAST(COUNT(*) FILTER (WHERE r.v <= p.quantile) AS DOUBLE) AS s,
        CAST(COUNT(*) AS DOUBLE) AS m
    FROM ranked AS r
    INNER JOIN point AS p
        ON r.metric = p.metric AND r.variant = p.variant
    GROUP BY r.metric, r.variant, r.cluster_id
),
sums AS (
    SELECT
        metric,
        variant,
        SUM(s) AS s_sum,
        SUM(s * s) AS s_sq,
        SUM(m) AS m_sum,
        SUM(m * m) AS m_sq,
        SUM(s * m) AS sm
    FROM cluster_counts
    GROUP BY metric, variant
),
indicator_moments AS (
    SELECT
        p.*,
        s.s_sum, s.s_sq, s.m_sum, s.m_sq, s.sm,
        s.s_sum / s.m_sum AS cdf,
        (s.s_sq - s.s_sum * s.s_sum / p.clusters) / NULLIF(p.clusters - 1, 0) AS var_s,
        (s.m_sq - s.m_sum * s.m_sum / p.clusters) / NULLIF(p.clusters - 1, 0) AS var_m,
        (s.sm - s.s_sum * s.m_sum / p.clusters) / NULLIF(p.clusters - 1, 0) AS cov_sm
    FROM point AS p
    INNER JOIN sums AS s
        ON p.metric = s.metric AND p.variant = s.variant
),
design AS (
    SELECT
        *,
        CASE
            WHEN level = 'unit' OR clusters < 2 OR NOT cdf * (1 - cdf) > 0 THEN 1.0
            ELSE (GREATEST(var_s - 2 * cdf * cov_sm + cdf * cdf * var_m, 0)
                  / ((m_sum / clusters) * (m_sum / clusters) * clusters))
                 / (cdf * (1 - cdf) / m_sum)
        END AS deff
    FROM indicator_moments
),
bounds AS (
    SELECT
        *,
        CAST(GREATEST(1, FLOOR(n * p - {{ z }} * SQRT(deff * n * p * (1 - p)))) AS BIGINT) AS lower_rank,
        CAST(LEAST(n, CEIL(n * p + {{ z }} * SQRT(deff * n * p * (1 - p)))) AS BIGINT) AS upper_rank
    FROM design
)
SELECT
    b.metric,
    b.variant,
    b.n,
    b.clusters,
    b.p,
    b.level,
    b.quantile,
    b.lower_rank,
    b.upper_rank,
    MAX(r.v) FILTER (WHERE r.r = b.lower_rank) AS lower,
    MAX(r.v) FILTER (WHERE r.r = b.upper_rank) AS upper,
    b.deff,
    b.s_sum,
    b.s_sq,
    b.m_sum,
    b.m_sq,
    b.sm
FROM bounds AS b
INNER JOIN ranked AS r
    ON r.metric = b.metric AND r.variant = b.variant
GROUP BY ALL
ORDER BY b.metric, b.variant
