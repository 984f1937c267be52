{#
  sources.sql: map the user's tables onto abkit's canonical column names.

  Purpose     one CTE per source, so every other template reads the same names
              whatever the warehouse calls them (mapping comes from exp.yaml `data:`).
  Parameters  assignments, events: {relation, columns: {canonical: quoted source column}}
              units: {relation, columns} or None; segments: [{column, alias}];
              unit_covariates: [{column, alias}] (numeric attributes for CUPED);
              units_joined: whether the units CTE is needed at all.
              window_start, window_end: optional timestamp literals bounding the data.
              not_materialized (optional): mark the events CTE NOT MATERIALIZED
              (DuckDB), for a query that reads it twice: DuckDB would store it.
  Output      assignments(unit_id, variant, exposed_at)
              events(unit_id, ts, event, value, partner_id, <extra columns>)
              units(unit_id, <one column per segment>), one row per unit.
  Grain       as the source tables.
#}
assignments AS (
    SELECT
        {{ assignments.columns.unit_id }} AS unit_id,
        CAST({{ assignments.columns.variant }} AS VARCHAR) AS variant,
        CAST({{ assignments.columns.timestamp }} AS TIMESTAMP) AS exposed_at
    FROM {{ assignments.relation }}
    WHERE {{ assignments.columns.timestamp }} IS NOT NULL
    {%- if window_start %}
        AND CAST({{ assignments.columns.timestamp }} AS TIMESTAMP) >= {{ window_start }}
    {%- endif %}
    {%- if window_end %}
        AND CAST({{ assignments.columns.timestamp }} AS TIMESTAMP) < {{ window_end }}
    {%- endif %}
),
events AS {% if not_materialized is defined and not_materialized %}NOT MATERIALIZED {% endif %}(
    SELECT
        {{ events.columns.unit_id }} AS unit_id,
        CAST({{ events.columns.timestamp }} AS TIMESTAMP) AS ts,
        CAST({{ events.columns.event }} AS VARCHAR) AS event,
        {{ events.columns.value }} AS value,
        {{ events.columns.partner_id }} AS partner_id
        {%- for column in events.extra_columns %},
        {{ column }}
        {%- endfor %}
    FROM {{ events.relation }}
    {%- if window_end %}
    WHERE CAST({{ events.columns.timestamp }} AS TIMESTAMP) < {{ window_end }}
    {%- endif %}
)
{%- if units_joined %},
units AS (
    SELECT
        {{ units.columns.unit_id }} AS unit_id
        {%- for s in segments %},
        MIN(CAST({{ s.column }} AS VARCHAR)) AS "{{ s.alias }}"
        {%- endfor %}
        {%- for c in unit_covariates %},
        MIN(CAST({{ c.column }} AS DOUBLE)) AS "{{ c.alias }}"
        {%- endfor %}
    FROM {{ units.relation }}
    GROUP BY {{ units.columns.unit_id }}
)
{%- endif %}
