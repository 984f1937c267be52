{#
  unit_metrics.sql: every metric's value per exposed unit, from one scan of events.

  Purpose     each metric is a FILTERed aggregate in one GROUP BY unit; only events
              at or after the unit's exposure and inside the metric's day window count.
  Parameters  metrics: list of {name, kind, events (quoted literals), value, filter,
              start_day, end_day}; `value` and `filter` are validated by abkit/sql.py.
              horizon_days: the largest end_day (None when some window is open).
  Output      unit_id, one column per metric (NULL when the unit had no such event).
  Grain       unit (only units with at least one event after exposure).
#}
    SELECT
        e.unit_id
        {%- for m in metrics %},
        {%- set condition %}e.event IN ({{ m.events | join(", ") }})
            {%- if m.start_day %} AND e.ts >= x.exposed_at + INTERVAL {{ m.start_day }} DAY{% endif %}
            {%- if m.end_day %} AND e.ts < x.exposed_at + INTERVAL {{ m.end_day }} DAY{% endif %}
            {%- if m.filter %} AND ({{ m.filter }}){% endif %}
        {%- endset %}
        {%- if m.kind == "proportion" %}
        CASE WHEN COUNT(*) FILTER (WHERE {{ condition }}) > 0 THEN 1 ELSE 0 END AS "{{ m.name }}"
        {%- else %}
        SUM(CAST({{ m.value }} AS DOUBLE)) FILTER (WHERE {{ condition }}) AS "{{ m.name }}"
        {%- endif %}
        {%- endfor %}
    FROM events AS e
    INNER JOIN exposures AS x
        ON e.unit_id = x.unit_id
    WHERE e.ts >= x.exposed_at
    {%- if horizon_days %}
        AND e.ts < x.exposed_at + INTERVAL {{ horizon_days }} DAY
    {%- endif %}
    GROUP BY e.unit_id
