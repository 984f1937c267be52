{#
  moments.sql: sufficient statistics, the only rows Python receives.

  Purpose     reduce per-unit values to counts, sums, sums of squares and the
              cross-products each metric needs (ratio: numerator x denominator;
              pre-period covariates: x outcome), overall, per segment and per
              exposure key. The units are reduced once, to their finest cell
              (variant x exposure day x segment values); the GROUPING SETS then
              roll those few cells up, instead of hashing every unit once per set.
              Sums are taken about each variable's shift (caps.sql: a pooled
              reference value), so second moments keep their precision when the
              mean is large against the spread; the raw sums are derived from the
              shifted ones per output row, exactly as Σy = Σ(y - c) + n·c.
              Daily looks: a windowed metric's value is final once its window has
              passed. A unit exposed at t counts in the look on the morning of day D
              exactly when t + end_day days <= D, i.e. exposure_key + 1 + end_day <=
              D, so a look is a running sum of the exposure-key rows: one scan for a
              whole experiment, not one query per day.
  Parameters  metrics: list of {name, variables: [{column, shift, sum, sum_sq,
              shifted_sum, shifted_sum_sq, cap}], pairs: [{left, right, column,
              shifted}]}; segments: list of {alias}.
  Output      variant, exposure_key (NULL except on the daily rows), one column per
              segment (NULL except on that segment's rows), n_units,
              units_without_events (none after exposure), units_with_events_before
              (events after the experiment began but before their own exposure),
              units_without_pre_period (no event in the pre-period: CUPED uses 0),
              and per metric: <metric>__n, per variable <variable>__shift, the sums
              about it (<variable>__shifted_sum, __shifted_sum_sq,
              <metric>__<a>__<b>__shifted_sum_prod), the raw <variable>__sum,
              __sum_sq, <metric>__<a>__<b>__sum_prod, and <variable>__cap for capped
              ones.
  Grain       variant (overall) and variant x value of each segment.
#}
SELECT
    m.variant,
    m.exposure_key
    {%- for s in segments %},
    m."{{ s.alias }}"
    {%- endfor %},
    m.n_units,
    m.units_without_events,
    m.units_with_events_before,
    m.units_without_pre_period
    {%- for m in metrics %},
    m."{{ m.name }}__n"
    {%- set n %}m."{{ m.name }}__n"{% endset %}
    {%- for v in m.variables %},
    c."{{ v.shift }}",
    m."{{ v.shifted_sum }}",
    m."{{ v.shifted_sum_sq }}",
    m."{{ v.shifted_sum }}" + {{ n }} * c."{{ v.shift }}" AS "{{ v.sum }}",
    m."{{ v.shifted_sum_sq }}" + c."{{ v.shift }}" * (2 * m."{{ v.shifted_sum }}" + {{ n }} * c."{{ v.shift }}") AS "{{ v.sum_sq }}"
    {%- if v.cap %},
    m."{{ v.cap }}"
    {%- endif %}
    {%- endfor %}
    {%- for p in m.pairs %},
    m."{{ p.shifted }}",
    m."{{ p.shifted }}" + c."{{ p.left.shift }}" * m."{{ p.right.shifted_sum }}" + c."{{ p.right.shift }}" * m."{{ p.left.shifted_sum }}" + {{ n }} * c."{{ p.left.shift }}" * c."{{ p.right.shift }}" AS "{{ p.column }}"
    {%- endfor %}
    {%- endfor %}
FROM (
    SELECT
        f.variant,
        f.exposure_key
        {%- for s in segments %},
        f."{{ s.alias }}"
        {%- endfor %}
        {%- for column in count_columns %},
        CAST(SUM(f.{{ column }}) AS BIGINT) AS {{ column }}
        {%- endfor %}
        {%- for m in metrics %},
        CAST(SUM(f."{{ m.name }}__n") AS BIGINT) AS "{{ m.name }}__n"
        {%- for x in m.variables %},
        SUM(f."{{ x.shifted_sum }}") AS "{{ x.shifted_sum }}",
        SUM(f."{{ x.shifted_sum_sq }}") AS "{{ x.shifted_sum_sq }}"
        {%- if x.cap %},
        MAX(f."{{ x.cap }}") AS "{{ x.cap }}"
        {%- endif %}
        {%- endfor %}
        {%- for p in m.pairs %},
        SUM(f."{{ p.shifted }}") AS "{{ p.shifted }}"
        {%- endfor %}
        {%- endfor %}
    FROM (
        SELECT
            v.variant,
            v.exposure_key
            {%- for s in segments %},
            v."{{ s.alias }}"
            {%- endfor %},
            COUNT(*) AS n_units,
            COUNT(*) FILTER (WHERE v.events_after_exposure = 0) AS units_without_events,
            COUNT(*) FILTER (WHERE v.events_before_exposure > 0) AS units_with_events_before,
            COUNT(*) FILTER (WHERE v.events_in_pre_period = 0) AS units_without_pre_period
            {%- for m in metrics %},
            COUNT(v."{{ m.name }}") AS "{{ m.name }}__n"
            {%- for x in m.variables %},
            {%- set d %}(CAST(v."{{ x.column }}" AS DOUBLE) - c."{{ x.shift }}"){% endset %}
            SUM({{ d }}) AS "{{ x.shifted_sum }}",
            SUM({{ d }} * {{ d }}) AS "{{ x.shifted_sum_sq }}"
            {%- if x.cap %},
            MAX(v."{{ x.cap }}") AS "{{ x.cap }}"
            {%- endif %}
            {%- endfor %}
            {%- for p in m.pairs %},
            SUM((CAST(v."{{ p.left.column }}" AS DOUBLE) - c."{{ p.left.shift }}") * (CAST(v."{{ p.right.column }}" AS DOUBLE) - c."{{ p.right.shift }}")) AS "{{ p.shifted }}"
            {%- endfor %}
            {%- endfor %}
        FROM unit_values AS v
        CROSS JOIN caps AS c
        GROUP BY v.variant, v.exposure_key
        {%- for s in segments %}, v."{{ s.alias }}"{% endfor %}
    ) AS f
    GROUP BY GROUPING SETS (
        (f.variant),
        (f.variant, f.exposure_key)
        {%- for s in segments %},
        (f.variant, f."{{ s.alias }}")
        {%- endfor %}
    )
) AS m
CROSS JOIN caps AS c
