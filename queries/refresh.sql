{#
  refresh.sql: the incremental refresh of a running experiment (DuckDB), by step.

  Purpose     the moments are sums over units, and a unit's raw aggregates
              (unit_aggregates.sql) are sums, counts, maxima and counts of distinct
              days of per-event predicates, which add up over any split of its
              events by time. The state (a DuckDB file) keeps each exposed unit's
              aggregates of the events before the last cut (the watermark day minus
              the late-data buffer), those of the buffer's events, and the moments
              of the last refresh. A refresh aggregates only the events since the
              cut (plus the whole history of units exposed since), and updates the
              moments by the changed units alone: their moments as the state had
              them are subtracted, their moments now are added.
  Parameters  step: exposures | event_days | fresh | merge | settle |
              moments_change | caps | moments.
              everything analysis.sql takes; merges: list of {column, merge (SUM |
              MAX), integer (kept as BIGINT)} for every column of unit_aggregates;
              settled_before: the new cut (fresh); days_from (or None), days_until:
              the days event_days counts; left, right: the relations merge adds up;
              fresh_table: the fresh step's rows, kept_changed: the changed units'
              kept rows, changed_table: their ids (settle); exposures_table: the
              exposures now (settle: None when the kept ones hold; fresh, caps and
              moments: the units they read); old_exposures, old_aggregates,
              new_exposures, new_aggregates: the changed units as kept and now,
              old_end_value: the kept data end (moments_change); aggregates_table:
              unit_aggregates' columns per unit (caps, moments); caps_table: the
              caps and shifts moments use (None: caps.sql computes them);
              data_end_value: the data end as a timestamp literal.
  Output      exposures: exposures.sql; event_days: day, n_rows, checksum, last_ts of
              the events in [days_from, days_until) (the change detector of old
              days: a row count and an XOR of row hashes per day, exact and
              independent of scan order); fresh: unit_aggregates.sql split at
              settled_before (column settled); merge: unit_id and the merged
              columns of units in either relation; settle: the changed units' new
              kept rows (exposed_at, variant, has_events, unit_id, the merged
              columns) and rewritten (the row differs from the kept one);
              moments_change: moments.sql's rows over the changed units as kept
              (side 'old') and now (side 'new'); caps: caps.sql; moments:
              moments.sql over the given units.
  Second pass event_days reads the timestamps (and a hash) of the old events once,
              and only when a source file changed in a way its Parquet footer does
              not clear: it is what proves them unchanged, and is far cheaper than
              the join and group-by of the analysis.
#}
{#- A unit's two sets of aggregates of one column, added up: a sum adds, a maximum
    takes the larger, and NULL (no such event) stays NULL unless the other side has
    a value, as the aggregate over all events would. #}
{%- macro merged(m, x, y) -%}
{%- if m.merge == "MAX" -%}
COALESCE(GREATEST({{ x }}, {{ y }}), {{ x }}, {{ y }})
{%- else -%}
COALESCE({{ x }} + {{ y }}, {{ x }}, {{ y }})
{%- endif %}{% if m.integer %}::BIGINT{% endif %}
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
{%- elif step == "merge" %}
{#- A unit's two sets of aggregates, joined and added up by merged(). #}
SELECT
    COALESCE(a.unit_id, b.unit_id) AS unit_id
    {%- for m in merges %},
    {{ merged(m, 'a."' ~ m.column ~ '"', 'b."' ~ m.column ~ '"') }} AS "{{ m.column }}"
    {%- endfor %}
FROM ({{ left }}) AS a
FULL OUTER JOIN ({{ right }}) AS b
    ON a.unit_id = b.unit_id
{%- elif step == "settle" %},
{#- The changed units' new kept rows: their exposure now, and the kept aggregates
    (of a unit whose exposure is kept) merged with the fresh settled ones, in the
    merge step's order. Without changed exposures the kept rows are the
    exposures, and no second join is needed. #}
fresh_settled AS (
    SELECT * EXCLUDE (settled) FROM {{ fresh_table }} WHERE settled
)
SELECT
    x.exposed_at,
    x.variant,
    {%- if exposures_table %}
    COALESCE(k.has_events AND k.variant = x.variant AND k.exposed_at = x.exposed_at, false)
    {%- else %}
    x.has_events
    {%- endif %} OR s.unit_id IS NOT NULL AS has_events,
    x.unit_id
    {%- for m in merges %},
    {%- if exposures_table %}
    {%- set kept = 'CASE WHEN k.variant = x.variant AND k.exposed_at = x.exposed_at THEN k."' ~ m.column ~ '" END' %}
    {%- else %}
    {%- set kept = 'x."' ~ m.column ~ '"' %}
    {%- endif %}
    {{ merged(m, kept, 's."' ~ m.column ~ '"') }} AS "{{ m.column }}"
    {%- endfor %},
    s.unit_id IS NOT NULL
    {%- if exposures_table %} OR k.unit_id IS NULL OR k.variant <> x.variant OR k.exposed_at <> x.exposed_at{% endif %} AS rewritten
{%- if exposures_table %}
FROM {{ exposures_table }} AS x
SEMI JOIN {{ changed_table }} AS c
    ON c.unit_id = x.unit_id
LEFT JOIN {{ kept_changed }} AS k
    ON k.unit_id = x.unit_id
{%- else %}
FROM {{ kept_changed }} AS x
{%- endif %}
LEFT JOIN fresh_settled AS s
    ON s.unit_id = x.unit_id
{%- elif step == "moments_change" %},
{#- moments.sql over the changed units as the state had them (old) and as they
    are now (new), in one statement: the refresh subtracts the first and adds the
    second (abkit/analysis/refresh/cells.py). #}
caps AS (
    SELECT * FROM {{ caps_table }}
)
{%- for side, side_exposures, side_aggregates, side_end in (
    ("old", old_exposures, old_aggregates, old_end_value),
    ("new", new_exposures, new_aggregates, data_end_value),
) %},
{{ side }}_moments AS (
    WITH
    exposures AS (
        SELECT unit_id, variant, exposed_at FROM {{ side_exposures }}
    ),
    {%- if data_end_needed %}
    data_end AS (
        SELECT {{ side_end }} AS data_end
    ),
    {%- endif %}
    unit_aggregates AS (
        SELECT * FROM {{ side_aggregates }}
    ),
    unit_values AS (
{% include "unit_values.sql" %}
    )
{% include "moments.sql" %}
)
{%- endfor %}
SELECT 'old' AS side, * FROM old_moments
UNION ALL BY NAME
SELECT 'new' AS side, * FROM new_moments
{%- else %},
exposures AS (
    SELECT unit_id, variant, exposed_at FROM {{ exposures_table }}
)
{%- if step == "fresh" %},
fresh AS (
{% include "unit_aggregates.sql" %}
)
SELECT * FROM fresh
{%- else %},
{%- if data_end_needed %}
data_end AS (
    SELECT {{ data_end_value }} AS data_end
),
{%- endif %}
unit_aggregates AS (
    SELECT * FROM {{ aggregates_table }}
)
{%- if step == "caps" %}
{% include "caps.sql" %}
{%- else %},
caps AS (
{%- if caps_table %}
    SELECT * FROM {{ caps_table }}
{%- else %}
{% include "caps.sql" %}
{%- endif %}
),
unit_values AS (
{% include "unit_values.sql" %}
)
{% include "moments.sql" %}
{%- endif %}
{%- endif %}
{%- endif %}
