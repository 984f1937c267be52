"""Re-export of the sufficient-statistic dataclasses, which live in `abkit.aggregates`."""

from abkit.aggregates.moments import FloatArray, JointMoments, Moments

__all__ = ["FloatArray", "JointMoments", "Moments"]
