{#
  analysis.sql: the fused query of one experiment.

  Purpose     every metric of the experiment in one scan of the event log:
              sources -> exposures -> raw per-unit aggregates -> caps -> per-unit
              values (zeros, caps, censoring) -> per-variant (and segment) moments.
  Parameters  everything the included templates take (see each file).
  Output      as moments.sql.
  Grain       variant, and variant x segment value when segments are set.
#}
WITH
{% include "sources.sql" %},
exposures AS (
{% include "exposures.sql" %}
),
data_end AS (
{% include "data_end.sql" %}
),
unit_aggregates AS (
{% include "unit_aggregates.sql" %}
),
caps AS (
{% include "caps.sql" %}
),
unit_values AS (
{% include "unit_values.sql" %}
)
{% include "moments.sql" %}
