{#
  unit_aggregates.sql: raw per-unit aggregates of every metric, one scan of events.

  Purpose     each metric measure (in-experiment value, denominator, pre-period
              value, cap base) is a FILTERed aggregate in one GROUP BY unit. Windows
              are in days relative to the unit's first exposure: [lower, upper).
  Parameters  columns: list of {column, events (quoted literals), value, filter,
              aggregate (sum | any | active_days | distinct_partners), lower, upper}.
              `value` and `filter` were validated by abkit/sql.py.
              scan_lower, scan_upper: the union of all windows (upper None = open).
              pre_period_days: the experiment's pre-period length.
              pre_since, pre_until: a calendar pre-period [since, until) as
              timestamp literals (None: the pre_period_days before exposure);
              a column's `since`/`until` likewise, and scan_since the earliest.
              offsets: every day offset used above (their bounds are precomputed).
              settled_before (optional, incremental refresh): a timestamp literal;
              each unit then gets one row per side of it (column `settled`: the
              events before it), so the settled part can be kept and summed later.
  Output      unit_id, events_after_exposure, events_before_exposure (events between
              the experiment's first exposure and this unit's), events_in_pre_period
              (the experiment's pre-period before this unit's exposure), one column per
              entry of `columns` (NULL or 0 = no such event: counts, value 1, are
              COUNT(*), cheaper than a SUM of ones).
  Grain       unit (only units with at least one event in the scanned range).
#}
{#- Window bounds are computed once per unit (in `x` below), not once per event and
    aggregate: on large logs that per-row date arithmetic dominated the scan. #}
{% macro bound_name(days) -%}
    {%- if days > 0 %}at_plus_{{ days }}{% elif days < 0 %}at_minus_{{ -days }}{% else %}exposed_at{% endif %}
{%- endmacro %}
{% macro shifted(days) -%}x.{{ bound_name(days) }}{%- endmacro %}
    SELECT
        e.unit_id,
        {%- if settled_before is defined and settled_before %}
        e.ts < {{ settled_before }} AS settled,
        {%- endif %}
        COUNT(*) FILTER (WHERE e.ts >= x.exposed_at) AS events_after_exposure,
        COUNT(*) FILTER (WHERE e.ts < x.exposed_at AND e.ts >= f.first_exposure)
            AS events_before_exposure,
        COUNT(*) FILTER (WHERE e.ts < x.exposed_at AND {% if pre_since is not none %}e.ts >= {{ pre_since }} AND e.ts < {{ pre_until }}{% else %}e.ts >= {{ shifted(-pre_period_days) }}{% endif %})
            AS events_in_pre_period
        {%- for c in columns %},
        {%- set condition %}e.event IN ({{ c.events | join(", ") }}) AND {% if c.since is not none %}e.ts >= {{ c.since }} AND e.ts < {{ c.until }}{% else %}e.ts >= {{ shifted(c.lower) }}{% endif %}
            {%- if c.upper is not none %} AND e.ts < {{ shifted(c.upper) }}{% endif %}
            {%- if c.filter %} AND ({{ c.filter }}){% endif %}
        {%- endset %}
        {%- if c.aggregate == "any" %}
        CASE WHEN COUNT(*) FILTER (WHERE {{ condition }}) > 0 THEN 1 ELSE 0 END AS "{{ c.column }}"
        {%- elif c.aggregate == "active_days" %}
        COUNT(DISTINCT CAST(e.ts AS DATE)) FILTER (WHERE {{ condition }}) AS "{{ c.column }}"
        {%- elif c.aggregate == "distinct_partners" %}
        COUNT(DISTINCT e.partner_id) FILTER (WHERE {{ condition }}) AS "{{ c.column }}"
        {%- elif c.value == "1" %}
        COUNT(*) FILTER (WHERE {{ condition }}) AS "{{ c.column }}"
        {%- else %}
        SUM(CAST({{ c.value }} AS DOUBLE)) FILTER (WHERE {{ condition }}) AS "{{ c.column }}"
        {%- endif %}
        {%- endfor %}
    FROM events AS e
    INNER JOIN (
        SELECT
            unit_id,
            exposed_at
            {%- for days in offsets if days != 0 %},
            exposed_at {{ "+" if days > 0 else "-" }} INTERVAL {{ days | abs }} DAY AS {{ bound_name(days) }}
            {%- endfor %}
        FROM exposures
    ) AS x
        ON e.unit_id = x.unit_id
    CROSS JOIN (SELECT MIN(exposed_at) AS first_exposure FROM exposures) AS f
    WHERE e.ts >= {% if scan_since is not none %}LEAST({{ shifted(scan_lower) }}, {{ scan_since }}){% else %}{{ shifted(scan_lower) }}{% endif %}
    {%- if scan_upper is not none %}
        AND e.ts < {{ shifted(scan_upper) }}
    {%- endif %}
    GROUP BY e.unit_id
    {%- if settled_before is defined and settled_before %}, e.ts < {{ settled_before }}{% endif %}
