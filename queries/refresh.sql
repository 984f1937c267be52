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
  Parameters  step: exposures | event_days | fresh | merge | caps | moments.
              everything analysis.sql takes; merges: list of {column, merge (SUM |
              MAX), integer (kept as BIGINT)} for every column of unit_aggregates;
              settled_before: the new cut (fresh); days_from (or None), days_until:
              the days event_days counts; left, right: the relations merge adds up;
              exposures_table, aggregates_table: the relations caps and moments read
              (unit_id, variant, exposed_at; unit_aggregates' columns); caps_table:
              the caps and shifts moments use (None: caps.sql computes them);
              data_end_value: the data end as a timestamp literal.
  Output      exposures: exposures.sql; event_days: day, n_rows, checksum, last_ts of
              the events in [days_from, days_until) (the change detector of old
              days: a row count and an XOR of row hashes per day, exact and
              independent of scan order); fresh: unit_aggregates.sql split at
              settled_before (column settled); merge: unit_id and the merged
              columns of units in either relation; caps: caps.sql; moments:
              moments.sql over the given units.
  Second pass event_days reads the timestamps (and a hash) of the old events once,
              and only when a source file changed in a way its Parquet footer does
              not clear: it is what proves them unchanged, and is far cheaper than
              the join and group-by of the analysis.
#}
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
{#- A unit's two sets of aggregates, joined: a sum adds, a maximum takes the larger,
    and NULL (no such event) stays NULL unless the other side has a value, as the
    aggregate over all events would. #}
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
FROM ({{ left }}) AS a
FULL OUTER JOIN ({{ right }}) AS b
    ON a.unit_id = b.unit_id
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
