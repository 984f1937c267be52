{#
  moments.sql: sufficient statistics, the only rows Python receives.

  Purpose     reduce per-unit values to counts, sums, sums of squares and the
              cross-products each metric needs (ratio: numerator x denominator;
              pre-period covariates: x outcome), overall, per segment and per
              exposure key in one GROUPING SETS pass over the units.
              Daily looks: a windowed metric's value is final once its window has
              passed. A unit exposed at t counts in the look on the morning of day D
              exactly when t + end_day days <= D, i.e. exposure_key + 1 + end_day <=
              D, so a look is a running sum of the exposure-key rows: one scan for a
              whole experiment, not one query per day.
  Parameters  metrics: list of {name, variables: [{column}], pairs: [{left, right,
              column}]}; segments: list of {alias}.
  Output      variant, exposure_key (NULL except on the daily rows), one column per
              segment (NULL except on that segment's rows), n_units,
              units_without_events (none after exposure), units_with_events_before
              (events after the experiment began but before their own exposure),
              units_without_pre_period (no event in the pre-period: CUPED uses 0),
              and per metric: <metric>__n, <variable>__sum, <variable>__sum_sq,
              <metric>__<a>__<b>__sum_prod, and <variable>__cap for capped ones.
  Grain       variant (overall) and variant x value of each segment.
#}
SELECT
    variant,
    exposure_key
    {%- for s in segments %},
    "{{ s.alias }}"
    {%- endfor %},
    COUNT(*) AS n_units,
    COUNT(*) FILTER (WHERE events_after_exposure = 0) AS units_without_events,
    COUNT(*) FILTER (WHERE events_before_exposure > 0) AS units_with_events_before,
    COUNT(*) FILTER (WHERE events_in_pre_period = 0) AS units_without_pre_period
    {%- for m in metrics %},
    COUNT("{{ m.name }}") AS "{{ m.name }}__n"
    {%- for v in m.variables %},
    SUM(CAST("{{ v.column }}" AS DOUBLE)) AS "{{ v.column }}__sum",
    SUM(CAST("{{ v.column }}" AS DOUBLE) * CAST("{{ v.column }}" AS DOUBLE)) AS "{{ v.column }}__sum_sq"
    {%- if v.cap %},
    MAX("{{ v.cap }}") AS "{{ v.cap }}"
    {%- endif %}
    {%- endfor %}
    {%- for p in m.pairs %},
    SUM(CAST("{{ p.left }}" AS DOUBLE) * CAST("{{ p.right }}" AS DOUBLE)) AS "{{ p.column }}"
    {%- endfor %}
    {%- endfor %}
FROM unit_values
GROUP BY GROUPING SETS (
    (variant),
    (variant, exposure_key)
    {%- for s in segments %},
    (variant, "{{ s.alias }}")
    {%- endfor %}
)
