"""Stage 6, analysis: one experiment orchestrated from its queries to its decision.

`run` is the recipe (queries → moments → tests → result); `health`, `monitoring`,
`decision`, `planning` and `registration` are its steps; `results` holds what it returns.
"""
