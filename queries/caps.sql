{#
  caps.sql: winsorizing caps, percentiles computed over all exposed units pooled.

  Purpose     one cap per winsorized variable, never per variant (a per-variant cap
              would itself depend on the treatment; STATS.md §9). Caps from the
              pre-period (the default) are fixed before treatment; caps from the
              experiment pool both arms' in-window values of eligible units.
  Parameters  percentile_function: the dialect's exact percentile aggregate.
              caps: list of {column, source_column, percentile, end_day (None for
              pre-period caps, which use every exposed unit), ignore_zeros (the
              percentile of units with a positive value only)}.
  Output      one row: n_exposed and one column per cap.
  Grain       one row.
#}
    SELECT
        COUNT(*) AS n_exposed
        {%- for c in caps %},
        {%- set conditions = [] %}
        {%- if c.end_day is not none %}{% set _ = conditions.append("x.exposed_at + INTERVAL " ~ c.end_day ~ " DAY <= d.data_end") %}{% endif %}
        {%- if c.ignore_zeros %}{% set _ = conditions.append('u."' ~ c.source_column ~ '" > 0') %}{% endif %}
        {{ percentile_function }}(COALESCE(u."{{ c.source_column }}", 0), {{ c.percentile }})
        {%- if conditions %} FILTER (WHERE {{ conditions | join(" AND ") }}){% endif %} AS "{{ c.column }}"
        {%- endfor %}
    FROM exposures AS x
    LEFT JOIN unit_aggregates AS u
        ON x.unit_id = u.unit_id
    CROSS JOIN data_end AS d
