"""Sufficient statistics: the only data that crosses from SQL into Python.

Every test in `abkit.stats` takes these small frozen dataclasses, never unit-level
rows (DESIGN.md, "the one rule"). They add together, so daily or per-shard partial
sums combine exactly into the total (STATS.md §0).
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

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Moments:
        """Moments of an in-memory sample (tests and notebooks)."""
        array = np.asarray(
            list(values) if not isinstance(values, np.ndarray) else values
        )
        array = array.astype(np.float64)
        return cls(int(array.size), float(array.sum()), float((array * array).sum()))

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.n + other.n, self.sum + other.sum, self.sum_sq + other.sum_sq
        )

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
        return max(self.sum_sq - self.sum * self.sum / self.n, 0.0) / (self.n - 1)

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

    Example:
        >>> jm = JointMoments.from_columns({"y": [1.0, 2.0, 4.0], "x": [1.0, 2.0, 3.0]})
        >>> jm.covariance("y", "x")
        1.5
    """

    n: int
    names: tuple[str, ...]
    sums: tuple[float, ...]
    cross: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        k = len(self.names)
        if (
            len(self.sums) != k
            or len(self.cross) != k
            or any(len(r) != k for r in self.cross)
        ):
            raise ValueError(f"JointMoments needs {k} sums and a {k}x{k} cross matrix")

    @classmethod
    def empty(cls, names: Sequence[str]) -> JointMoments:
        """Moments of no units (n = 0, all sums 0)."""
        k = len(names)
        return cls(0, tuple(names), (0.0,) * k, ((0.0,) * k,) * k)

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
        return JointMoments(self.n + other.n, self.names, sums, cross)

    def index(self, name: str) -> int:
        """Position of a variable by name."""
        return self.names.index(name)

    def marginal(self, name: str) -> Moments:
        """The univariate moments of one variable."""
        i = self.index(name)
        return Moments(self.n, self.sums[i], self.cross[i][i])

    def mean(self, name: str) -> float:
        """Sample mean of one variable."""
        return self.sums[self.index(name)] / self.n if self.n > 0 else math.nan

    def covariance(self, first: str, second: str) -> float:
        """Sample covariance (n − 1 denominator) of two variables."""
        if self.n < 2:
            return math.nan
        i, j = self.index(first), self.index(second)
        centred = self.cross[i][j] - self.sums[i] * self.sums[j] / self.n
        return centred / (self.n - 1)

    def mean_vector(self) -> FloatArray:
        """Means of all variables, in `names` order."""
        return np.asarray(self.sums, dtype=np.float64) / self.n

    def covariance_matrix(self) -> FloatArray:
        """Sample covariance matrix (n − 1 denominator), in `names` order."""
        sums = np.asarray(self.sums, dtype=np.float64)
        gram = np.asarray(self.cross, dtype=np.float64)
        return (gram - np.outer(sums, sums) / self.n) / (self.n - 1)
