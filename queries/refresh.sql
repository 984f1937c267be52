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
  Parameters  step: exposures | event_days | fresh | moments | state.
              everything analysis.sql takes; merges: list of {column, merge (SUM |
              MAX)} for every column of unit_aggregates; events_since: the old cut
              (timestamp literal); settled_before: the new cut; data_end_value: the
              data end as a timestamp literal when a window is censored and the
              window end is open.
  Reads       the temporary tables abkit_exposures, abkit_new_units, abkit_state and
              abkit_fresh that the earlier steps create.
  Output      exposures: exposures.sql; event_days: day, n_rows, checksum of the
              events before events_since (the state's change detector); fresh:
              unit_aggregates.sql split at settled_before; moments: moments.sql;
              state: the new state, one row per unit (unit_id, exposed_at, merges).
  Second pass event_days reads the timestamps (and a hash) of the old events once: it
              is what proves them unchanged, and is far cheaper than the join and
              group-by of the analysis.
#}
{%- macro merged(rows) %}
    SELECT
        r.unit_id
        {%- for m in merges %},
        {{ m.merge }}(r."{{ m.column }}") AS "{{ m.column }}"
        {%- endfor %}
    FROM (
        SELECT s.* EXCLUDE (exposed_at)
        FROM abkit_state AS s
        INNER JOIN abkit_exposures AS k
            ON s.unit_id = k.unit_id
        UNION ALL BY NAME
        SELECT * EXCLUDE (settled) FROM abkit_fresh {{ rows }}
    ) AS r
    GROUP BY r.unit_id
{%- endmacro %}
WITH
{% include "sources.sql" %}
{%- if step == "exposures" %}
{% include "exposures.sql" %}
{%- elif step == "event_days" %}
SELECT
    CAST(ts AS DATE) AS day,
    COUNT(*) AS n_rows,
    BIT_XOR(HASH(unit_id, ts, event, value)) AS checksum
FROM events
WHERE ts < {{ events_since }}
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
SELECT k.exposed_at, u.*
FROM ({{ merged("WHERE settled") }}) AS u
INNER JOIN abkit_exposures AS k
    ON u.unit_id = k.unit_id
{%- else %},
{%- if data_end_needed %}
data_end AS (
    SELECT {{ window_end if window_end else data_end_value }} AS data_end
),
{%- endif %}
unit_aggregates AS ({{ merged("") }}
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
