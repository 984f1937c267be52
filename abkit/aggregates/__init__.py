"""Stage 4, sufficient statistics: moments and the readers that build them from query rows.

Only these few numbers per (variant × segment × day) leave the engine; the statistics
stage works on them alone.
"""
