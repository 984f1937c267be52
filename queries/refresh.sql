{#
  refresh.sql: the incremental refresh of a running experiment (DuckDB), by step.

  Purpose     a unit's raw aggregates (unit_aggregates.sql) are sums, counts, maxima
              and counts of distinct days of per-event predicates, so they add up
              over any split of its events by time. The stored state holds them for
              the events before the last cut (the watermark day minus the late-data
              buffer); a refresh aggregates only the events since that cut (plus the
              whole history of units exposed since, whose pre-period the state does
              not hold), adds the state, and runs the usual caps, unit values and
              moments on the sum: the same numbers as a full recomputation.
  Parameters  step: exposures | event_days | fresh | state | moments.
              everything analysis.sql takes; merges: list of {column, merge (SUM |
              MAX), integer (kept as BIGINT)} for every column of unit_aggregates; events_since: the old cut
              (timestamp literal); settled_before: the new cut; days_from (or None),
              days_until: the days event_days counts; data_end_value: the
              data end as a timestamp literal when a window is censored and the
              window end is open.
  Reads       the temporary tables abkit_exposures, abkit_new_units, abkit_state,
              abkit_fresh and abkit_next (the new state) that the earlier steps create.
  Output      exposures: exposures.sql; event_days: day, n_rows, checksum, last_ts of the
              events in [days_from, days_until) (the state's change detector: a row count and an
              XOR of row hashes per day, exact and independent of scan order); fresh:
              unit_aggregates.sql split at settled_before; moments: moments.sql;
              state: the new state, one row per exposed unit (exposed_at, has_events,
              unit_id, merges): the kept rows plus the fresh ones before
              settled_before (units without such events are kept too, with
              has_events false, so that they are not taken for newcomers); moments:
              moments.sql over the new state plus the fresh rows after it.
  Second pass event_days reads the timestamps (and a hash) of the old events once: it
              is what proves them unchanged, and is far cheaper than the join and
              group-by of the analysis.
#}
{#- A unit's kept and fresh aggregates, joined (the fresh side is the small one):
    a sum adds, a maximum takes the larger, and NULL (no such event) stays NULL
    unless the other side has a value, as the aggregate over all events would. #}
{%- macro merged(kept, rows) %}
    SELECT
        COALESCE(a.unit_id, b.unit_id) AS unit_id
        {%- for m in merges %},
        {%- set x, y = 'a."' ~ m.column ~ '"', 'b."' ~ m.column ~ '"' %}
        {%- if m.merge == "MAX" %}
        COALESCE(GREATEST({{ x }}, {{ y }}), {{ x }}, {{ y }})
        {%- else %}
        COALESCE({{ x }} + {{ y }}, {{ x }}, {{ y }})
        {%- endif %}{% if m.integer %}::BIGINT{% endif %} AS "{{ m.column }}"
        {%- endfor %}
    FROM ({{ kept }}) AS a
    FULL OUTER JOIN (SELECT * FROM abkit_fresh WHERE {{ rows }}) AS b
        ON a.unit_id = b.unit_id
{%- endmacro %}
WITH
{% include "sources.sql" %}
{%- if step == "exposures" %}
{% include "exposures.sql" %}
{%- elif step == "event_days" %}
SELECT
    CAST(ts AS DATE) AS day,
    COUNT(*) AS n_rows,
    BIT_XOR(HASH(unit_id, ts, value)) AS checksum,
    CAST(MAX(ts) AS VARCHAR) AS last_ts
FROM events
WHERE {% if days_from %}ts >= {{ days_from }} AND {% endif %}ts < {{ days_until }}
GROUP BY CAST(ts AS DATE)
{%- else %},
exposures AS (
    SELECT * FROM abkit_exposures
)
{%- if step == "fresh" %},
fresh AS (
{% include "unit_aggregates.sql" %}
)
SELECT * FROM fresh
{%- elif step == "state" %}
{%- set kept %}SELECT s.* EXCLUDE (exposed_at, has_events) FROM abkit_state AS s
        INNER JOIN abkit_exposures AS k ON s.unit_id = k.unit_id
        WHERE s.has_events{% endset %}
SELECT k.exposed_at, u.unit_id IS NOT NULL AS has_events, k.unit_id, u.* EXCLUDE (unit_id)
FROM abkit_exposures AS k
LEFT JOIN ({{ merged(kept, "settled") }}) AS u
    ON u.unit_id = k.unit_id
{%- else %},
{%- if data_end_needed %}
data_end AS (
    SELECT {{ window_end if window_end else data_end_value }} AS data_end
),
{%- endif %}
unit_aggregates AS ({{ merged("SELECT * EXCLUDE (exposed_at, has_events) FROM abkit_next WHERE has_events", "NOT settled") }}
),
caps AS (
{% include "caps.sql" %}
),
unit_values AS (
{% include "unit_values.sql" %}
)
{% include "moments.sql" %}
{%- endif %}
{%- endif %}
