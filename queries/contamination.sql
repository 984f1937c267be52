{#
  contamination.sql: two-sided interactions that cross experiment arms.

  Purpose     in a two-sided product a treated member's matches and messages reach
              members of the other arm, so the arms are not independent. Counts the
              interaction events after the sender's exposure by the sender's and the
              partner's variant ('(not exposed)' when the partner is outside the
              experiment, or exposed later).
  Own pass    a second scan of the events, of the interaction events only: each
              needs its partner's variant, a join of the events on partner_id to
              the exposures before any aggregation, the costliest shape for the
              main scan (which aggregates by unit first), so it is not folded in.
  Parameters  as sources.sql; interaction_events (quoted literals); variants.
  Output      variant, partner_variant, n_events.
  Grain       variant x partner variant.
#}
WITH
{% include "sources.sql" %},
exposures AS (
{% include "exposures.sql" %}
)
SELECT
    x.variant,
    COALESCE(p.variant, '(not exposed)') AS partner_variant,
    COUNT(*) AS n_events
FROM events AS e
INNER JOIN exposures AS x
    ON e.unit_id = x.unit_id
LEFT JOIN exposures AS p
    ON e.partner_id = p.unit_id AND e.ts >= p.exposed_at
WHERE e.event IN ({{ interaction_events | join(", ") }})
    AND e.partner_id IS NOT NULL
    AND e.ts >= x.exposed_at
    AND x.variant IN ({{ variants | join(", ") }})
GROUP BY x.variant, COALESCE(p.variant, '(not exposed)')
ORDER BY 1, 2
