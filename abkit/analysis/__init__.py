"""Stage 6, analysis: one experiment orchestrated from its queries to its decision.

`run` is the recipe: `queries` runs the SQL on a locked-down engine, `assembly` turns
the frames into a result with `comparison` (the arm tests), `health`, `monitoring`
(daily looks, sequential tests), `novelty` and `registration`, then `decision`
applies the pre-registered rules. `planning` sizes an experiment from its history;
`results` holds what they return, printed with `text`.
"""
