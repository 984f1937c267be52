{#
  analysis.sql: the fused query of one experiment.

  Purpose     every metric of the experiment in one scan of the event log
              (unit_chain.sql), reduced to per-variant and per-segment moments.
  Parameters  everything the included templates take (see each file).
  Output      as moments.sql.
  Grain       variant, and variant x segment value when segments are set.
#}
WITH
{% include "unit_chain.sql" %}
{% include "moments.sql" %}
