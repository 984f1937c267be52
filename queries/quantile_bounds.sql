{#
  quantile_bounds.sql: quantiles and the order statistics bounding their CIs.

  Purpose     the tail of quantiles.sql and aa_replay_quantiles.sql (everything
              after the rows to rank). Per quantile metric and group (an arm, or a
              run x pseudo-arm): N (values ranked), the quantile and the ranks and
              values of the order statistics its interval needs:
              - interval 'outer' (Deng, Knoblich & Lu 2018, section 4): the
                p-quantile is the order statistic of rank ceil(N*p) (inverse
                empirical CDF); the bounds are at the ranks
                N*p -/+ z*sqrt(deff*N*p*(1-p)). At the event level deff is the
                cluster-robust (delta-method) variance of the share of events <= the
                quantile over its binomial variance, from per-unit sums returned
                beside it (section 4.2); 1 at the unit level.
              - interval 'price_bonett' (Bonett & Price 2002; median, unit level):
                the median is the mean of the order statistics of ranks
                floor((N+1)/2) and ceil((N+1)/2) (numpy's median, and
                QUANTILE_CONT(v, 0.5), on every dialect, BigQuery and Trino included);
                the bounds are y_(a) and y_(N-a+1), a = max(1, round(N/2 - sqrt(N))).
                FLOOR(x + 0.5) equals R's round-half-to-even here: x is a half
                integer only when N is an odd square, and then the upper neighbour
                is the even one.
  Parameters  quantile_metrics: list of {name (quoted literal), p, level, interval};
              z: the two-sided critical value (a number); quantile_source: the CTE
              of rows (metric, <quantile_keys>, unit_id, v); quantile_keys: the
              group columns besides metric (e.g. ["variant"] or ["run", "variant"]).
  Output      metric, <quantile_keys>, n, clusters, p, level, interval, quantile,
              lower_rank, upper_rank, lower, upper, minimum, deff, s_sum, s_sq,
              m_sum, m_sq, sm (s: a unit's values <= quantile, m: its values).
  Grain       quantile metric x group.
#}
{%- macro keys(alias) %}{% for k in quantile_keys %}, {{ alias }}.{{ k }}{% endfor %}{% endmacro %}
{%- macro same_keys(left, right) %}{% for k in quantile_keys %} AND {{ left }}.{{ k }} = {{ right }}.{{ k }}{% endfor %}{% endmacro %}
quantile_params AS (
    SELECT * FROM (VALUES
    {%- for m in quantile_metrics %}
        ({{ m.name }}, CAST({{ m.p }} AS DOUBLE), '{{ m.level }}', '{{ m.interval }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) AS t(metric, p, level, interval_method)
),
ranked AS (
    SELECT
        v.metric{{ keys("v") }},
        v.unit_id AS cluster_id,
        v.v,
        ROW_NUMBER() OVER (PARTITION BY v.metric{{ keys("v") }} ORDER BY v.v) AS r,
        COUNT(*) OVER (PARTITION BY v.metric{{ keys("v") }}) AS n
    FROM {{ quantile_source }} AS v
),
point AS (
    SELECT
        r.metric{{ keys("r") }},
        MAX(r.n) AS n,
        COUNT(DISTINCT r.cluster_id) AS clusters,
        MAX(q.p) AS p,
        MAX(q.level) AS level,
        MAX(q.interval_method) AS interval_method,
        MIN(r.v) AS minimum,
        CASE WHEN MAX(q.interval_method) = 'price_bonett'
            THEN (MAX(r.v) FILTER (WHERE r.r = FLOOR((r.n + 1) / 2.0))
                  + MAX(r.v) FILTER (WHERE r.r = CEIL((r.n + 1) / 2.0))) / 2
            ELSE MAX(r.v) FILTER (WHERE r.r = LEAST(GREATEST(CEIL(r.n * q.p), 1), r.n))
        END AS quantile
    FROM ranked AS r
    INNER JOIN quantile_params AS q
        ON r.metric = q.metric
    GROUP BY r.metric{{ keys("r") }}
),
cluster_counts AS (
    SELECT
        r.metric{{ keys("r") }},
        r.cluster_id,
        CAST(COUNT(*) FILTER (WHERE r.v <= p.quantile) AS DOUBLE) AS s,
        CAST(COUNT(*) AS DOUBLE) AS m
    FROM ranked AS r
    INNER JOIN point AS p
        ON r.metric = p.metric{{ same_keys("r", "p") }}
    GROUP BY r.metric{{ keys("r") }}, r.cluster_id
),
sums AS (
    SELECT
        c.metric{{ keys("c") }},
        SUM(c.s) AS s_sum,
        SUM(c.s * c.s) AS s_sq,
        SUM(c.m) AS m_sum,
        SUM(c.m * c.m) AS m_sq,
        SUM(c.s * c.m) AS sm
    FROM cluster_counts AS c
    GROUP BY c.metric{{ keys("c") }}
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
        ON p.metric = s.metric{{ same_keys("p", "s") }}
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
ranks AS (
    SELECT
        *,
        CAST(GREATEST(1, FLOOR(n / 2.0 - SQRT(n) + 0.5)) AS BIGINT) AS pb_rank
    FROM design
),
bounds AS (
    SELECT
        *,
        CASE WHEN interval_method = 'price_bonett' THEN pb_rank
            ELSE CAST(GREATEST(1, FLOOR(n * p - {{ z }} * SQRT(deff * n * p * (1 - p)))) AS BIGINT)
        END AS lower_rank,
        CASE WHEN interval_method = 'price_bonett' THEN n - pb_rank + 1
            ELSE CAST(LEAST(n, CEIL(n * p + {{ z }} * SQRT(deff * n * p * (1 - p)))) AS BIGINT)
        END AS upper_rank
    FROM ranks
)
SELECT
    b.metric{{ keys("b") }},
    b.n,
    b.clusters,
    b.p,
    b.level,
    b.interval_method AS "interval",
    b.quantile,
    b.lower_rank,
    b.upper_rank,
    MAX(r.v) FILTER (WHERE r.r = b.lower_rank) AS lower,
    MAX(r.v) FILTER (WHERE r.r = b.upper_rank) AS upper,
    b.minimum,
    b.deff,
    b.s_sum,
    b.s_sq,
    b.m_sum,
    b.m_sq,
    b.sm
FROM bounds AS b
INNER JOIN ranked AS r
    ON r.metric = b.metric{{ same_keys("r", "b") }}
GROUP BY b.metric{{ keys("b") }}, b.n, b.clusters, b.p, b.level, b.interval_method,
    b.quantile, b.lower_rank, b.upper_rank, b.minimum, b.deff, b.s_sum, b.s_sq,
    b.m_sum, b.m_sq, b.sm
ORDER BY b.metric{{ keys("b") }}
