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
  Parameters  step: exposures | event_days | fresh | merge | changes |
              moments_change | caps | moments.
              everything analysis.sql takes; merges: list of {column, merge (SUM |
              MAX), integer (kept as BIGINT)} for every column of unit_aggregates;
              settled_before: the new cut (fresh); days_from (or None), days_until:
              the days event_days counts; left, right: the relations merge adds up;
              kept_units, kept_buffer, fresh_table: the kept rows, the kept buffer
              and the fresh step's rows (changes); exposures_table: the exposures
              now (changes: None when the kept ones hold; caps and moments: the
              units they read), marked: the ids of changed units that may have no
              fresh or buffered events (or None); changes_table: the changes
              step's rows, old_end_value: the kept data end (moments_change);
              aggregates_table: unit_aggregates' columns per unit (caps, moments);
              caps_table: the caps and shifts moments use (None: caps.sql computes
              them); data_end_value: the data end as a timestamp literal.
  Output      exposures: exposures.sql; event_days: day, n_rows, checksum, last_ts of
              the events in [days_from, days_until) (the change detector of old
              days: a row count and an XOR of row hashes per day, exact and
              independent of scan order); fresh: unit_aggregates.sql split at
              settled_before (column settled); merge: unit_id and the merged
              columns of units in either relation; changes: one row per changed
              unit: unit_id, old_variant, old_exposed_at (NULL: not kept),
              new_variant, new_exposed_at (NULL: no longer analysed), has_settled,
              has_new (whether it has a settled or any aggregates now), rewritten
              (its kept row changes), and per column old__ (as kept), settled__
              (its new kept row) and new__ (now); moments_change: moments.sql's
              rows over the changed units as kept (side 'old') and now (side
              'new'); caps: caps.sql; moments: moments.sql over the given units.
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
{%- elif step == "changes" %},
{#- Every changed unit once, in one statement: its fresh settled and buffer rows,
    its kept buffer row and its mark are joined into one row, then to its kept row
    (and its exposure now), and the three merges are columns of that row, so each
    unit's rows are hashed once, not once per merge. (Turning the parts into
    columns by a GROUP BY with FILTERed ANY_VALUEs instead cost twice as much.)
    The merges add up in the order the merge step would: old = kept + kept
    buffer, settled = kept + fresh settled, new = settled + fresh buffer, so what
    a later refresh takes as "old" is bit for bit what is added as "new" now. #}
fresh_settled AS (
    SELECT * EXCLUDE (settled) FROM {{ fresh_table }} WHERE settled
),
fresh_buffer AS (
    SELECT * EXCLUDE (settled) FROM {{ fresh_table }} WHERE NOT settled
),
changed AS (
    SELECT
        COALESCE(fs.unit_id, fb.unit_id, kb.unit_id{% if marked %}, mk.unit_id{% endif %}) AS unit_id,
        fs.unit_id IS NOT NULL AS has_fresh_settled,
        fb.unit_id IS NOT NULL AS has_fresh_buffer
        {%- for m in merges %}
        {%- for prefix in ("kb", "fs", "fb") %},
        {{ prefix }}."{{ m.column }}" AS "{{ prefix }}__{{ m.column }}"
        {%- endfor %}
        {%- endfor %}
    FROM fresh_settled AS fs
    FULL OUTER JOIN fresh_buffer AS fb
        ON fb.unit_id = fs.unit_id
    FULL OUTER JOIN {{ kept_buffer }} AS kb
        ON kb.unit_id = COALESCE(fs.unit_id, fb.unit_id)
    {%- if marked %}
    FULL OUTER JOIN ({{ marked }}) AS mk
        ON mk.unit_id = COALESCE(fs.unit_id, fb.unit_id, kb.unit_id)
    {%- endif %}
),
joined AS (
    SELECT
        c.*,
        k.variant AS old_variant,
        k.exposed_at AS old_exposed_at,
        {%- if exposures_table %}
        x.variant AS new_variant,
        x.exposed_at AS new_exposed_at,
        COALESCE(x.variant = k.variant AND x.exposed_at = k.exposed_at, false) AS kept_exposure,
        {%- else %}
        k.variant AS new_variant,
        k.exposed_at AS new_exposed_at,
        true AS kept_exposure,
        {%- endif %}
        COALESCE(k.has_events, false) AS kept_events
        {%- for m in merges %},
        k."{{ m.column }}" AS "k__{{ m.column }}"
        {%- endfor %}
    FROM changed AS c
    LEFT JOIN {{ kept_units }} AS k
        ON k.unit_id = c.unit_id
    {%- if exposures_table %}
    LEFT JOIN {{ exposures_table }} AS x
        ON x.unit_id = c.unit_id
    {%- endif %}
),
settled AS (
    SELECT
        *,
        (kept_events AND kept_exposure) OR has_fresh_settled AS has_settled,
        has_fresh_settled OR NOT kept_exposure AS rewritten
        {%- for m in merges %}
        {#- a kept row without events holds NULLs; one whose exposure changed is dropped #}
        {%- if exposures_table %}
        {%- set k = 'CASE WHEN kept_exposure THEN "k__' ~ m.column ~ '" END' %}
        {%- else %}
        {%- set k = '"k__' ~ m.column ~ '"' %}
        {%- endif %},
        {{ merged(m, '"k__' ~ m.column ~ '"', '"kb__' ~ m.column ~ '"') }} AS "old__{{ m.column }}",
        {{ merged(m, k, '"fs__' ~ m.column ~ '"') }} AS "settled__{{ m.column }}"
        {%- endfor %}
    FROM joined
)
SELECT
    unit_id,
    old_variant,
    old_exposed_at,
    new_variant,
    new_exposed_at,
    has_settled,
    has_settled OR has_fresh_buffer AS has_new,
    rewritten
    {%- for m in merges %},
    "old__{{ m.column }}",
    "settled__{{ m.column }}",
    {{ merged(m, '"settled__' ~ m.column ~ '"', '"fb__' ~ m.column ~ '"') }} AS "new__{{ m.column }}"
    {%- endfor %}
FROM settled
{%- elif step == "moments_change" %},
{#- moments.sql over the changed units as the state had them (old) and as they
    are now (new), in one statement: the refresh subtracts the first and adds the
    second (abkit/analysis/refresh/cells.py). #}
caps AS (
    SELECT * FROM {{ caps_table }}
)
{%- for side, end in (("old", old_end_value), ("new", data_end_value)) %},
{{ side }}_moments AS (
    WITH
    exposures AS (
        SELECT unit_id, {{ side }}_variant AS variant, {{ side }}_exposed_at AS exposed_at
        FROM {{ changes_table }}
        WHERE {{ side }}_variant IS NOT NULL
    ),
    {%- if data_end_needed %}
    data_end AS (
        SELECT {{ end }} AS data_end
    ),
    {%- endif %}
    unit_aggregates AS (
        SELECT
            unit_id
            {%- for m in merges %},
            "{{ side }}__{{ m.column }}" AS "{{ m.column }}"
            {%- endfor %}
        FROM {{ changes_table }}
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
