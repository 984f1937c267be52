"""Sample size of a cluster-randomized design: the i.i.d. size times the design effect.

When clusters of m units (cities, schools, match pairs) are randomized together and
the units' values correlate within a cluster with intra-cluster correlation ρ, the
variance of an arm mean is the i.i.d. variance times the design effect (Donner &
Klar 2000, §5.2; Kish 1965)

    DEFF = 1 + (m − 1)·ρ,

so the design needs DEFF times the units of a unit-randomized test of the same power,
that is n·DEFF/m clusters per arm. m is the mean number of analysed units per cluster
(clusters of unequal size need slightly more; the mean size is the textbook plan).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_ROUNDING_SLACK = 1e-9
"""Relative slack before rounding up, so 100.0000000001 units stay 100."""


@dataclass(frozen=True, slots=True)
class ClusterSize:
    """The units and clusters a cluster-randomized design needs per arm.

    Attributes:
        design_effect: 1 + (m − 1)·ρ.
        units_per_cluster: m, mean analysed units per cluster.
        icc: ρ, the intra-cluster correlation planned for.
        units_per_arm: ⌈n·DEFF⌉ analysed units per arm, control first.
        clusters_per_arm: ⌈n·DEFF/m⌉ clusters per arm, control first.
    """

    design_effect: float
    units_per_cluster: float
    icc: float
    units_per_arm: tuple[int, ...]
    clusters_per_arm: tuple[int, ...]

    @property
    def units_total(self) -> int:
        """Analysed units over all arms."""
        return sum(self.units_per_arm)

    @property
    def clusters_total(self) -> int:
        """Clusters over all arms."""
        return sum(self.clusters_per_arm)


def design_effect(units_per_cluster: float, icc: float) -> float:
    """DEFF = 1 + (m − 1)·ρ for clusters of m units with intra-cluster correlation ρ.

    Args:
        units_per_cluster: m ≥ 1, mean analysed units per cluster.
        icc: ρ, at least −1/(m − 1) (the smallest correlation m units can have)
            and at most 1.

    Raises:
        ValueError: m below 1, or ρ outside its range.
    """
    m = units_per_cluster
    if not (math.isfinite(m) and m >= 1):
        raise ValueError(f"units_per_cluster == {m}; must be a finite number ≥ 1")
    lowest = -1 / (m - 1) if m > 1 else -math.inf
    if not (math.isfinite(icc) and lowest <= icc <= 1):
        raise ValueError(f"icc == {icc}; must be between {lowest:g} and 1")
    return 1 + (m - 1) * icc


def cluster_size(
    n_per_arm: Sequence[float], units_per_cluster: float, icc: float
) -> ClusterSize:
    """Units and clusters per arm for the i.i.d. sizes `n_per_arm` (unrounded).

    Args:
        n_per_arm: per-arm sizes of the unit-randomized test (`PowerResult.n_exact`).
        units_per_cluster: m, mean analysed units per cluster.
        icc: ρ, the intra-cluster correlation of the metric.
    """
    deff = design_effect(units_per_cluster, icc)
    units = tuple(_round_up(n * deff) for n in n_per_arm)
    clusters = tuple(_round_up(n * deff / units_per_cluster) for n in n_per_arm)
    return ClusterSize(deff, units_per_cluster, icc, units, clusters)


def implied_icc(deff: float, units_per_cluster: float) -> float:
    """ρ = (DEFF − 1)/(m − 1): the correlation a measured design effect implies."""
    if not units_per_cluster > 1 or not math.isfinite(deff):
        return math.nan
    return (deff - 1) / (units_per_cluster - 1)


def _round_up(value: float) -> int:
    return math.ceil(value - _ROUNDING_SLACK * value)
