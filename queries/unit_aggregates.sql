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
              microseconds_between(start, end): the dialect's exact microseconds
              from timestamp start to end, as a BIGINT.
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
{#- Every window is a range of whole days relative to the unit's exposure, so each
    event's offset from its unit's exposure is computed once, in microseconds (an
    exact integer), and every FILTER compares it with constants: ts >= exposed_at +
    k days exactly when the offset >= k * 86400000000. Comparing the timestamps with
    per-unit bound columns instead carried one column per distinct day offset
    through the join (eight for a 7-day window split by day since exposure), and
    gathering them per event cost more than the aggregates themselves. Only the scan
    range's two bounds are computed per unit (in `x`), for the WHERE. #}
{% macro at(days) -%}
    {%- if days > 0 %}x.exposed_at + INTERVAL {{ days }} DAY{% elif days < 0 %}x.exposed_at - INTERVAL {{ -days }} DAY{% else %}x.exposed_at{% endif %}
{%- endmacro %}
{% macro us(days) -%}{{ days * 86400000000 }}{%- endmacro %}
    SELECT
        e.unit_id,
        {%- if settled_before is defined and settled_before %}
        e.ts < {{ settled_before }} AS settled,
        {%- endif %}
        COUNT(*) FILTER (WHERE e.abkit_offset >= 0) AS events_after_exposure,
        COUNT(*) FILTER (WHERE e.abkit_offset < 0 AND e.ts >= e.abkit_first_exposure)
            AS events_before_exposure,
        COUNT(*) FILTER (WHERE e.abkit_offset < 0 AND {% if pre_since is not none %}e.ts >= {{ pre_since }} AND e.ts < {{ pre_until }}{% else %}e.abkit_offset >= {{ us(-pre_period_days) }}{% endif %})
            AS events_in_pre_period
        {%- for c in columns %},
        {%- set condition %}e.event IN ({{ c.events | join(", ") }}) AND {% if c.since is not none %}e.ts >= {{ c.since }} AND e.ts < {{ c.until }}{% else %}e.abkit_offset >= {{ us(c.lower) }}{% endif %}
            {%- if c.upper is not none %} AND e.abkit_offset < {{ us(c.upper) }}{% endif %}
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
    FROM (
        SELECT
            e.*,
            f.first_exposure AS abkit_first_exposure,
            {{ microseconds_between("x.exposed_at", "e.ts") }} AS abkit_offset
        FROM events AS e
        INNER JOIN (
            SELECT
                unit_id,
                exposed_at,
                {{ at(scan_lower) }} AS scan_from
                {%- if scan_upper is not none %},
                {{ at(scan_upper) }} AS scan_until
                {%- endif %}
            FROM exposures AS x
        ) AS x
            ON e.unit_id = x.unit_id
        CROSS JOIN (SELECT MIN(exposed_at) AS first_exposure FROM exposures) AS f
        WHERE e.ts >= {% if scan_since is not none %}LEAST(x.scan_from, {{ scan_since }}){% else %}x.scan_from{% endif %}
        {%- if scan_upper is not none %}
            AND e.ts < x.scan_until
        {%- endif %}
    ) AS e
    GROUP BY e.unit_id
    {%- if settled_before is defined and settled_before %}, e.ts < {{ settled_before }}{% endif %}
