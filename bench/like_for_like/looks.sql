-- looks.sql: the daily-looks job as one hand-fused DuckDB query (the speed limit).
--
-- Job: per variant and exposure day, for each KPI y (events, clicks, purchases,
-- revenue, converted) over the unit's 7-day window [exposed_at, exposed_at + 7 days)
-- and its covariate x (the same KPI over the 14 days before exposure): n, Σy, Σy²,
-- Σx, Σx², Σxy. looks.py sums the exposure days into each morning's look and
-- tests it (CUPED Welch, then the group-sequential bound).
--
-- Which units: a unit counts once its window has ended inside the data
-- (exposed_at + 7 days <= the last event), and on the morning of day D exactly when
-- exposure_key + 1 + 7 <= D, exposure_key being the date of the instant just before
-- exposure (as abkit's queries/moments.sql). So one row per (variant, exposure_key)
-- is all the looks need: each look is a running sum of these rows.
--
-- How it is made fast:
-- 1. One scan of the events, hash-joined to the assignments (the smaller build
--    side), which bring the unit's exposure and both window bounds, computed once
--    per unit, not once per event.
-- 2. The WHERE keeps only events inside [exposed_at - 14 days, exposed_at + 7 days)
--    before the aggregation (about 21 of the 29 days drawn per unit); every
--    remaining event is then either pre (ts < exposed_at) or in the window, and one
--    GROUP BY unit computes all eight per-unit values as FILTERed aggregates.
--    `converted` is derived from the purchase counts (> 0), so it costs no
--    aggregate over the events.
-- 3. The per-unit rows are LEFT JOINed from the assignments, so units without
--    events count in n; their NULLs are skipped by SUM and fail every FILTER,
--    which is exactly adding zeros (no COALESCE).
-- 4. The last event (for the censoring of incomplete windows) is MAX(ts), which
--    DuckDB answers from the Parquet row-group statistics without reading the
--    column (milliseconds); all sums per (variant, exposure_key) in one GROUP BY.
-- What it knows about this data and abkit must not assume: one assignment row per
-- unit (abkit deduplicates exposures and drops units seen in two variants), and
-- every event is a view, click or purchase (so `events` counts all rows).
--
-- Parameters: $assignments and $events, replaced by quoted paths (looks.py).
-- Output: one row per variant x exposure_key: variant, exposure_key, last_event, n,
-- and per KPI k: k__sum, k__sum_sq, k__pre__sum, k__pre__sum_sq, k__pre__sum_prod.
WITH assigned AS (
    SELECT
        unit_id,
        variant,
        exposed_at,
        exposed_at - INTERVAL 14 DAY AS pre_start,
        exposed_at + INTERVAL 7 DAY AS window_end
    FROM read_parquet($assignments)
),
per_unit AS (
    SELECT
        e.unit_id,
        COUNT(*) FILTER (WHERE e.ts >= a.exposed_at) AS events,
        COUNT(*) FILTER (WHERE e.ts < a.exposed_at) AS events_pre,
        COUNT(*) FILTER (WHERE e.event = 'click' AND e.ts >= a.exposed_at) AS clicks,
        COUNT(*) FILTER (WHERE e.event = 'click' AND e.ts < a.exposed_at) AS clicks_pre,
        COUNT(*) FILTER (WHERE e.event = 'purchase' AND e.ts >= a.exposed_at)
            AS purchases,
        COUNT(*) FILTER (WHERE e.event = 'purchase' AND e.ts < a.exposed_at)
            AS purchases_pre,
        COALESCE(SUM(e.value) FILTER (WHERE e.event = 'purchase' AND e.ts >= a.exposed_at), 0)
            AS revenue,
        COALESCE(SUM(e.value) FILTER (WHERE e.event = 'purchase' AND e.ts < a.exposed_at), 0)
            AS revenue_pre
    FROM read_parquet($events) AS e
    INNER JOIN assigned AS a
        ON e.unit_id = a.unit_id
    WHERE e.ts >= a.pre_start AND e.ts < a.window_end
    GROUP BY e.unit_id
),
data_end AS (
    SELECT MAX(ts) AS last_event FROM read_parquet($events)
)
SELECT
    a.variant,
    CAST(a.exposed_at - INTERVAL 1 MICROSECOND AS DATE) AS exposure_key,
    ANY_VALUE(d.last_event) AS last_event,
    COUNT(*) AS n,
    SUM(u.events) AS events__sum,
    SUM(u.events * u.events) AS events__sum_sq,
    SUM(u.events_pre) AS events__pre__sum,
    SUM(u.events_pre * u.events_pre) AS events__pre__sum_sq,
    SUM(u.events * u.events_pre) AS events__pre__sum_prod,
    SUM(u.clicks) AS clicks__sum,
    SUM(u.clicks * u.clicks) AS clicks__sum_sq,
    SUM(u.clicks_pre) AS clicks__pre__sum,
    SUM(u.clicks_pre * u.clicks_pre) AS clicks__pre__sum_sq,
    SUM(u.clicks * u.clicks_pre) AS clicks__pre__sum_prod,
    SUM(u.purchases) AS purchases__sum,
    SUM(u.purchases * u.purchases) AS purchases__sum_sq,
    SUM(u.purchases_pre) AS purchases__pre__sum,
    SUM(u.purchases_pre * u.purchases_pre) AS purchases__pre__sum_sq,
    SUM(u.purchases * u.purchases_pre) AS purchases__pre__sum_prod,
    SUM(u.revenue) AS revenue__sum,
    SUM(u.revenue * u.revenue) AS revenue__sum_sq,
    SUM(u.revenue_pre) AS revenue__pre__sum,
    SUM(u.revenue_pre * u.revenue_pre) AS revenue__pre__sum_sq,
    SUM(u.revenue * u.revenue_pre) AS revenue__pre__sum_prod,
    -- converted is 0/1, so its squares are itself
    COUNT(*) FILTER (WHERE u.purchases > 0) AS converted__sum,
    COUNT(*) FILTER (WHERE u.purchases > 0) AS converted__sum_sq,
    COUNT(*) FILTER (WHERE u.purchases_pre > 0) AS converted__pre__sum,
    COUNT(*) FILTER (WHERE u.purchases_pre > 0) AS converted__pre__sum_sq,
    COUNT(*) FILTER (WHERE u.purchases > 0 AND u.purchases_pre > 0)
        AS converted__pre__sum_prod
FROM assigned AS a
CROSS JOIN data_end AS d
LEFT JOIN per_unit AS u
    ON a.unit_id = u.unit_id
WHERE a.window_end <= d.last_event
GROUP BY a.variant, exposure_key
ORDER BY a.variant, exposure_key
