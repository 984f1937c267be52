{#
  analysis.sql: the fused query of one experiment.

  Purpose     every metric of the experiment in one scan of the event log:
              sources -> exposures -> per-unit metric values -> per-variant moments.
  Parameters  everything the included templates take (see each file).
  Output      one row per variant, columns as in moments.sql.
  Grain       variant.
#}
WITH
{% include "sources.sql" %},
exposures AS (
{% include "exposures.sql" %}
),
unit_metrics AS (
{% include "unit_metrics.sql" %}
)
{% include "moments.sql" %}
