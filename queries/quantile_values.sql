{#
  quantile_values.sql: the values each quantile metric ranks, one row per value.

  Purpose     the body of the quantile_values CTE of quantiles.sql and of the A/A
              replay of quantile metrics (aa_replay_quantiles.sql). Unit level: one
              value per exposed unit (its windowed aggregate, as unit_values). Event
              level: every matching event's value inside the unit's window.
  Parameters  quantile_metrics: list of {name (quoted literal), column, level,
              events (quoted literals), value, filter, start_day, end_day};
              variants (quoted literals). Reads the CTEs of unit_chain.sql.
  Output      metric, variant, unit_id, v.
  Grain       quantile metric x unit (unit level) or x event (event level).
#}
{%- for m in quantile_metrics %}
    {%- if not loop.first %}
    UNION ALL
    {%- endif %}
    {%- if m.level == "unit" %}
    SELECT {{ m.name }} AS metric, variant, unit_id, CAST("{{ m.column }}" AS DOUBLE) AS v
    FROM unit_values
    WHERE "{{ m.column }}" IS NOT NULL
    {%- else %}
    SELECT {{ m.name }} AS metric, x.variant, x.unit_id, e.v
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
    {%- if m.end_day is not none %}
    CROSS JOIN data_end AS d
    {%- endif %}
    WHERE x.variant IN ({{ variants | join(", ") }})
        AND e.v IS NOT NULL
        AND e.ts >= x.exposed_at + INTERVAL {{ m.start_day }} DAY
    {%- if m.end_day is not none %}
        AND e.ts < x.exposed_at + INTERVAL {{ m.end_day }} DAY
        AND x.exposed_at + INTERVAL {{ m.end_day }} DAY <= d.data_end
    {%- endif %}
    {%- endif %}
{%- endfor %}
