{#
  caps.sql: pooled reference values: winsorizing caps and the moments' shifts.

  Purpose     one cap per winsorized variable, never per variant (a per-variant cap
              would itself depend on the treatment; STATS.md §9). Caps from the
              pre-period (the default) are fixed before treatment; caps from the
              experiment pool both arms' in-window values of eligible units.
  Parameters  percentile_function: the dialect's exact percentile aggregate.
              caps: list of {column, source_column, percentile, end_day (None for
              pre-period caps, which use every exposed unit), ignore_zeros (the
              percentile of units with a positive value only)}.
              variables: list of {shift (output column), source, table}: each
              variable's shift is its pooled mean over exposed units with events,
              rounded to an integer (0 without any), so moments.sql sums
              (y - shift) and (y - shift)^2, whose variance does not cancel when
              the mean is large against the spread (values near 1e8 with sd 1).
              An integer shift keeps counts and 0/1 values exact, so the raw sums
              derived back from the shifted ones equal the direct sums.
              Without caps the shifts read unit_aggregates alone (no join).
  Output      one row: one column per cap and one per variable shift.
  Grain       one row.
  Second pass this is the one read of the per-unit rows besides moments.sql: a cap
              is a pooled percentile, and a shift a pooled mean, both needed before
              any unit's value is capped or summed. It reads unit_aggregates (one
              row per unit), never the events again. Replacing the shifts by
              constants (so that unit_aggregates is read once) did not change the
              query's CPU time measurably at 10M events (1M unit rows), so the
              shifts stay pooled means, which keep every metric precise.
#}
    SELECT
        COUNT(*) AS n_rows
        {%- for c in caps %},
        {%- set conditions = [] %}
        {%- if c.end_day is not none %}{% set _ = conditions.append("x.exposed_at + INTERVAL " ~ c.end_day ~ " DAY <= d.data_end") %}{% endif %}
        {%- if c.ignore_zeros %}{% set _ = conditions.append('u."' ~ c.source_column ~ '" > 0') %}{% endif %}
        {{ percentile_function }}(COALESCE(u."{{ c.source_column }}", 0), {{ c.percentile }})
        {%- if conditions %} FILTER (WHERE {{ conditions | join(" AND ") }}){% endif %} AS "{{ c.column }}"
        {%- endfor %}
        {%- for v in variables %},
        {%- if v.table == "u" %}
        COALESCE(ROUND(AVG(CAST(u."{{ v.source }}" AS DOUBLE))), 0) AS "{{ v.shift }}"
        {%- else %}
        COALESCE((SELECT ROUND(AVG(CAST("{{ v.source }}" AS DOUBLE))) FROM units), 0) AS "{{ v.shift }}"
        {%- endif %}
        {%- endfor %}
    {%- if caps %}
    FROM exposures AS x
    LEFT JOIN unit_aggregates AS u
        ON x.unit_id = u.unit_id
    {%- if data_end_needed %}
    CROSS JOIN data_end AS d
    {%- endif %}
    {%- else %}
    FROM unit_aggregates AS u
    {%- endif %}
