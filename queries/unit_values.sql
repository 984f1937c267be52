{#
  unit_values.sql: the analysed value of every metric variable per exposed unit.

  Purpose     exposed units without events count as zeros; winsorized variables
              are capped; a windowed metric's variables are NULL for units whose
              window is not yet complete (censored, so they drop out of its n).
  Parameters  variables: list of {column, table (u: unit_aggregates, s: units),
              source (column read), cap (cap column or None), end_day};
              segments: list of {alias} (columns of the `units` CTE);
              variants (quoted literals); day_before(ts): the dialect's date
              of the instant just before ts.
  Output      unit_id, variant, exposed_at, exposure_key (the date of the instant
              just before exposure: see moments.sql), events_after_exposure,
              events_before_exposure, one column per segment, one per variable,
              and the cap of each capped variable (the same on every row).
  Grain       exposed unit in a configured variant.
#}
    SELECT
        x.unit_id,
        x.variant,
        x.exposed_at,
        {{ day_before("x.exposed_at") }} AS exposure_key,
        COALESCE(u.events_after_exposure, 0) AS events_after_exposure,
        COALESCE(u.events_before_exposure, 0) AS events_before_exposure,
        COALESCE(u.events_in_pre_period, 0) AS events_in_pre_period
        {%- for s in segments %},
        COALESCE(s."{{ s.alias }}", '(missing)') AS "{{ s.alias }}"
        {%- endfor %}
        {%- for v in variables %},
        {%- set value %}COALESCE({{ v.table }}."{{ v.source }}", 0){% endset %}
        {%- set value %}{% if v.cap %}LEAST({{ value }}, c."{{ v.cap }}"){% else %}{{ value }}{% endif %}{% endset %}
        {%- if v.end_day is not none %}
        CASE WHEN x.exposed_at + INTERVAL {{ v.end_day }} DAY <= d.data_end THEN {{ value }} END AS "{{ v.column }}"
        {%- else %}
        {{ value }} AS "{{ v.column }}"
        {%- endif %}
        {%- if v.cap %},
        c."{{ v.cap }}" AS "{{ v.cap }}"
        {%- endif %}
        {%- endfor %}
    FROM exposures AS x
    LEFT JOIN unit_aggregates AS u
        ON x.unit_id = u.unit_id
    {%- if units_joined %}
    LEFT JOIN units AS s
        ON x.unit_id = s.unit_id
    {%- endif %}
    {%- if caps %}
    CROSS JOIN caps AS c
    {%- endif %}
    {%- if data_end_needed %}
    CROSS JOIN data_end AS d
    {%- endif %}
    WHERE x.variant IN ({{ variants | join(", ") }})
