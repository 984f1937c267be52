{#
  quantiles.sql: per-arm quantiles and the order statistics bounding their CIs.

  Purpose     for each quantile metric and arm: N (values ranked), the quantile and
              the order statistics its interval needs (outer CI, Deng, Knoblich & Lu
              2018, section 4; or Price-Bonett for the median), computed in
              quantile_bounds.sql over the rows of quantile_values.sql. Unit level:
              one value per exposed unit (its windowed aggregate, as unit_values),
              deff = 1. Event level: every matching event's value inside the unit's
              window, clustered by unit (design effect, section 4.2).
  Own pass    only when quantile metrics exist: order statistics are not sums, so
              they need the per-unit (or per-event) values ranked per arm, which
              the moments' GROUP BY does not keep; it reruns unit_chain.sql's
              per-unit CTEs rather than hold those rows for a second statement.
  Parameters  everything unit_chain.sql takes; quantile_metrics: list of {name
              (quoted literal), column, p, level (unit | event), interval (outer |
              price_bonett), events (quoted literals), value, filter, start_day,
              end_day}; z: the two-sided critical value (a number); variants
              (quoted literals).
  Output      metric, variant, n, clusters, p, level, interval, quantile,
              lower_rank, upper_rank, lower, upper, minimum, deff, s_sum, s_sq,
              m_sum, m_sq, sm (s: a unit's values <= quantile, m: its values).
  Grain       quantile metric x variant.
#}
{%- set quantile_source = "quantile_values" %}
{%- set quantile_keys = ["variant"] %}
WITH
{% include "unit_chain.sql" %},
quantile_values AS (
{% include "quantile_values.sql" %}
),
{% include "quantile_bounds.sql" %}
