"""Sufficient statistics: the only data that crosses from SQL into Python.

Every test in `abkit.stats` takes these small frozen dataclasses, never unit-level
rows (DESIGN.md, "the one rule"). They add together, so daily or per-shard partial
sums combine exactly into the total (STATS.md §0).

Raw sums lose the variance when the mean is large against the spread (values near
1e8 with a standard deviation of 1: Σy² − (Σy)²/n cancels to noise). The SQL layer
therefore also sums about a shift (a pooled reference value per variable), and the
readers turn those shifted sums into *centred* second moments Σ(y − ȳ)², which the
dataclasses carry beside the raw sums and combine exactly (Chan et al.'s pairwise
update) when moments are added.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, sum and sum of squares of one variable in one group.

    Example:
        >>> m = Moments.from_values([1.0, 2.0, 3.0])
        >>> m.mean, m.variance
        (2.0, 1.0)
    """

    n: int
    sum: float
    sum_sq: float
    centred_sq: float | None = None
    """Σ(y − ȳ)², exact where sum_sq − sum²/n would cancel; None: from the raw sums."""

    @classmethod
    def from_shifted(
        cls, n: int, shift: float, shifted_sum: float, shifted_sum_sq: float
    ) -> Moments:
        """Moments from sums about a shift c: Σ(y − c) and Σ(y − c)²."""
        centred = _centred(n, shifted_sum, shifted_sum, shifted_sum_sq)
        raw_sum = shifted_sum + n * shift
        raw_sq = shifted_sum_sq + shift * (2.0 * shifted_sum + n * shift)
        return cls(n, raw_sum, raw_sq, centred)

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Moments:
        """Moments of an in-memory sample (tests and notebooks)."""
        array = np.asarray(
            list(values) if not isinstance(values, np.ndarray) else values
        )
        array = array.astype(np.float64)
        return cls(int(array.size), float(array.sum()), float((array * array).sum()))

    def __add__(self, other: Moments) -> Moments:
        n, total = self.n + other.n, self.sum + other.sum
        centred = None
        if self.centred_sq is not None or other.centred_sq is not None:
            centred = _combined(
                (self.n, self.sum, self.centred_square()),
                (other.n, other.sum, other.centred_square()),
            )
        return Moments(n, total, self.sum_sq + other.sum_sq, centred)

    def centred_square(self) -> float:
        """Σ(y − ȳ)²: the carried centred moment, else from the raw sums."""
        if self.centred_sq is not None:
            return self.centred_sq
        return _centred(self.n, self.sum, self.sum, self.sum_sq)

    @property
    def mean(self) -> float:
        """Sample mean Σy/n (NaN when n = 0)."""
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance with the n − 1 denominator (NaN when n < 2).

        Clipped at 0: Σy² − (Σy)²/n can dip below zero by rounding.
        """
        if self.n < 2:
            return math.nan
        return max(self.centred_square(), 0.0) / (self.n - 1)

    @property
    def std(self) -> float:
        """Sample standard deviation."""
        return math.sqrt(self.variance)

    @property
    def mean_variance(self) -> float:
        """Variance of the sample mean, s²/n."""
        return self.variance / self.n if self.n > 0 else math.nan


@dataclass(frozen=True, slots=True)
class JointMoments:
    """Count, sums and cross-product sums of several variables in one group.

    `cross[i][j]` is Σ vᵢ·vⱼ over units, so the diagonal holds the sums of squares.
    Ratio metrics (numerator, denominator), CUPED (outcome, covariate) and
    multi-covariate regression adjustment all reduce to this one shape.
    `comoments[i][j]`, when set, is the centred Σ(vᵢ − v̄ᵢ)(vⱼ − v̄ⱼ), computed from
    sums about a shift so that covariances keep their precision whatever the means.

    Example:
        >>> jm = JointMoments.from_columns({"y": [1.0, 2.0, 4.0], "x": [1.0, 2.0, 3.0]})
        >>> jm.covariance("y", "x")
        1.5
    """

    n: int
    names: tuple[str, ...]
    sums: tuple[float, ...]
    cross: tuple[tuple[float, ...], ...]
    comoments: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        k = len(self.names)
        matrices = [self.cross] + ([self.comoments] if self.comoments else [])
        if len(self.sums) != k or any(
            len(m) != k or any(len(r) != k for r in m) for m in matrices
        ):
            raise ValueError(f"JointMoments needs {k} sums and a {k}x{k} cross matrix")

    @classmethod
    def empty(cls, names: Sequence[str]) -> JointMoments:
        """Moments of no units (n = 0, all sums 0)."""
        k = len(names)
        return cls(0, tuple(names), (0.0,) * k, ((0.0,) * k,) * k)

    @classmethod
    def from_shifted(
        cls,
        n: int,
        names: Sequence[str],
        shift: Sequence[float],
        shifted_sums: Sequence[float],
        shifted_cross: Sequence[Sequence[float]],
    ) -> JointMoments:
        """Joint moments from sums about a shift c: Σ(v − c) and Σ(v − c)(w − c')."""
        k = len(names)
        sums = tuple(shifted_sums[i] + n * shift[i] for i in range(k))
        cross = tuple(
            tuple(
                shifted_cross[i][j]
                + shift[i] * shifted_sums[j]
                + shift[j] * shifted_sums[i]
                + n * shift[i] * shift[j]
                for j in range(k)
            )
            for i in range(k)
        )
        comoments = tuple(
            tuple(
                _centred(n, shifted_sums[i], shifted_sums[j], shifted_cross[i][j])
                for j in range(k)
            )
            for i in range(k)
        )
        return cls(n, tuple(names), sums, cross, comoments)

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, Sequence[float] | FloatArray]
    ) -> JointMoments:
        """Joint moments of in-memory columns of equal length (tests and notebooks)."""
        names = tuple(columns)
        matrix = np.column_stack(
            [np.asarray(columns[k], dtype=np.float64) for k in names]
        )
        return cls.from_matrix(names, matrix)

    @classmethod
    def from_matrix(cls, names: Sequence[str], matrix: FloatArray) -> JointMoments:
        """Joint moments of the columns of an (n × k) array."""
        sums = tuple(float(v) for v in matrix.sum(axis=0))
        gram = matrix.T @ matrix
        cross = tuple(tuple(float(v) for v in row) for row in gram)
        return cls(int(matrix.shape[0]), tuple(names), sums, cross)

    def __add__(self, other: JointMoments) -> JointMoments:
        if self.names != other.names:
            raise ValueError(f"cannot add moments of {self.names} and {other.names}")
        sums = tuple(a + b for a, b in zip(self.sums, other.sums, strict=True))
        cross = tuple(
            tuple(a + b for a, b in zip(ra, rb, strict=True))
            for ra, rb in zip(self.cross, other.cross, strict=True)
        )
        comoments = None
        if self.comoments is not None or other.comoments is not None:
            first, second = self.centred_matrix(), other.centred_matrix()
            k = len(self.names)
            comoments = tuple(
                tuple(
                    _combined_cross(self, other, i, j, first[i][j] + second[i][j])
                    for j in range(k)
                )
                for i in range(k)
            )
        return JointMoments(self.n + other.n, self.names, sums, cross, comoments)

    def centred_matrix(self) -> tuple[tuple[float, ...], ...]:
        """Σ(vᵢ − v̄ᵢ)(vⱼ − v̄ⱼ): the carried comoments, else from the raw sums."""
        if self.comoments is not None:
            return self.comoments
        k = range(len(self.names))
        return tuple(
            tuple(
                _centred(self.n, self.sums[i], self.sums[j], self.cross[i][j])
                for j in k
            )
            for i in k
        )

    def index(self, name: str) -> int:
        """Position of a variable by name."""
        return self.names.index(name)

    def marginal(self, name: str) -> Moments:
        """The univariate moments of one variable."""
        i = self.index(name)
        centred = self.comoments[i][i] if self.comoments is not None else None
        return Moments(self.n, self.sums[i], self.cross[i][i], centred)

    def mean(self, name: str) -> float:
        """Sample mean of one variable."""
        return self.sums[self.index(name)] / self.n if self.n > 0 else math.nan

    def covariance(self, first: str, second: str) -> float:
        """Sample covariance (n − 1 denominator) of two variables."""
        if self.n < 2:
            return math.nan
        i, j = self.index(first), self.index(second)
        if self.comoments is not None:
            return self.comoments[i][j] / (self.n - 1)
        centred = self.cross[i][j] - self.sums[i] * self.sums[j] / self.n
        return centred / (self.n - 1)

    def mean_vector(self) -> FloatArray:
        """Means of all variables, in `names` order."""
        return np.asarray(self.sums, dtype=np.float64) / self.n

    def covariance_matrix(self) -> FloatArray:
        """Sample covariance matrix (n − 1 denominator), in `names` order."""
        if self.comoments is not None:
            return np.asarray(self.comoments, dtype=np.float64) / (self.n - 1)
        sums = np.asarray(self.sums, dtype=np.float64)
        gram = np.asarray(self.cross, dtype=np.float64)
        return (gram - np.outer(sums, sums) / self.n) / (self.n - 1)


def _centred(n: int, sum_i: float, sum_j: float, cross: float) -> float:
    """Σ(vᵢ − v̄ᵢ)(vⱼ − v̄ⱼ) from sums about any shift (0 when there are no units)."""
    return cross - sum_i * sum_j / n if n > 0 else 0.0


def _combined(
    first: tuple[int, float, float], second: tuple[int, float, float]
) -> float:
    """Centred square of two groups joined, from each group's (n, Σy, Σ(y − ȳ)²)."""
    (n_a, sum_a, m_a), (n_b, sum_b, m_b) = first, second
    if n_a == 0 or n_b == 0:
        return m_a + m_b
    delta = sum_b / n_b - sum_a / n_a
    return m_a + m_b + delta * delta * n_a * n_b / (n_a + n_b)


def _combined_cross(
    first: JointMoments, second: JointMoments, i: int, j: int, within: float
) -> float:
    """One comoment of two groups joined: within-group part plus between-group part."""
    n_a, n_b = first.n, second.n
    if n_a == 0 or n_b == 0:
        return within
    delta_i = second.sums[i] / n_b - first.sums[i] / n_a
    delta_j = second.sums[j] / n_b - first.sums[j] / n_a
    return within + delta_i * delta_j * n_a * n_b / (n_a + n_b)
