{#
  unit_chain.sql: the CTEs shared by the analysis queries, up to one row per unit.

  Purpose     sources -> exposures -> raw per-unit aggregates (one scan of the
              events) -> caps -> per-unit values (zeros, caps, censoring).
  Parameters  everything the included templates take (see each file).
              data_end_needed: whether any window or cap is censored at the data
              end (else the data_end CTE, a scan of the events' timestamps, is left
              out).
              assignment_units (optional): also define assignment_units.sql's CTE
              and take the exposures from it (the fused analysis and health).
  Output      CTEs assignments, events, [units], [assignment_units], exposures,
              [data_end], unit_aggregates, caps, unit_values (no trailing comma,
              no SELECT).
  Grain       unit_values: exposed unit in a configured variant.
#}
{% include "sources.sql" %},
{%- if assignment_units is defined and assignment_units %}
assignment_units AS (
{% include "assignment_units.sql" %}
),
{%- endif %}
exposures AS (
{% include "exposures.sql" %}
),
{%- if data_end_needed %}
data_end AS (
{% include "data_end.sql" %}
),
{%- endif %}
unit_aggregates AS (
{% include "unit_aggregates.sql" %}
),
caps AS (
{% include "caps.sql" %}
),
unit_values AS (
{% include "unit_values.sql" %}
)
