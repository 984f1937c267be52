"""The group-sequential bounds solved by Newton steps equal Brent's to 1e-9.

`alpha_spending._solve_bound` solves P(first crossing at look k) = target by
safeguarded Newton steps on the recursion's sub-density (`roots.newton_root`); it
used to call `scipy.optimize.brentq` on the same equation. The designs below are
those of the published tables in test_sequential.py (gsDesign sfLDOF, Jennison &
Turnbull, STATS.md §4.3), checked against the bounds Brent's method gives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from abkit.stats.roots import newton_root
from abkit.stats.sequential import alpha_spending
from abkit.stats.sequential.alpha_spending import Z_BOUND_CAP, _boundaries
from tests.stats.test_sequential import BOUNDARY_TABLE, DAILY_28, EQUAL_5
from tests.test_layout import loaded_after

FAR_OUT = tuple((np.arange(1, 41) / 200).tolist())
DESIGNS = [
    *((fractions, 0.05, kind, convention, 2) for kind, convention, fractions, _ in BOUNDARY_TABLE),
    (DAILY_28, 0.05, "obf", "two-sided", 2),
    (DAILY_28, 0.05, "obf", "per-side", 2),
    (EQUAL_5, 0.025, "obf", "per-side", 1),
    (EQUAL_5, 0.025, "pocock", "per-side", 1),
    (EQUAL_5, 0.05, "power", "per-side", 2),
    ((0.2, 0.4, 0.4, 0.6, 0.8, 1.0), 0.05, "obf", "per-side", 2),
    ((0.5, 1.0, 1.3), 0.05, "obf", "per-side", 2),
    (FAR_OUT, 0.05, "obf", "per-side", 2),
]  # fmt: skip


def _brent_bound(recursion: alpha_spending._Recursion, k: int, target: float) -> float:
    """The bound as it was solved before: `brentq` on the log-scale excess."""

    def excess(bound: float) -> float:
        return math.log(max(recursion.crossing(k, bound), 1e-300)) - math.log(target)

    if target <= 0 or excess(Z_BOUND_CAP) >= 0:
        return Z_BOUND_CAP
    if excess(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(excess, 0.0, Z_BOUND_CAP, xtol=1e-12))


@pytest.mark.parametrize(("fractions", "alpha", "kind", "convention", "sides"), DESIGNS)
def test_newton_bounds_equal_brent_bounds(
    monkeypatch, fractions, alpha, kind, convention, sides
):
    _boundaries.cache_clear()
    newton = _boundaries(fractions, alpha, kind, convention, 2.0, sides)
    _boundaries.cache_clear()
    with monkeypatch.context() as patched:
        patched.setattr(alpha_spending, "_solve_bound", _brent_bound)
        brent = _boundaries(fractions, alpha, kind, convention, 2.0, sides)
    _boundaries.cache_clear()
    assert newton[0] == pytest.approx(brent[0], abs=1e-9, rel=0)
    assert newton[1] == pytest.approx(brent[1], abs=1e-12, rel=0)


def test_newton_root_converges_on_a_normal_quantile():
    def tail(z: float) -> tuple[float, float]:
        density = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return 0.5 * math.erfc(z / math.sqrt(2)) - 0.025, -density

    root = newton_root(tail, 0.0, 10.0, start=3.0, xtol=1e-12)
    assert root == pytest.approx(1.959963984540054, abs=1e-13)


def test_newton_root_bisects_without_a_usable_slope():
    root = newton_root(lambda x: (1.0 - x, math.nan), 0.0, 4.0, start=3.5, xtol=1e-12)
    assert root == pytest.approx(1.0, abs=1e-12)
    flat = newton_root(lambda x: (2.0 - x, 0.0), 0.0, 4.0, start=0.5, xtol=1e-12)
    assert flat == pytest.approx(2.0, abs=1e-12)


def test_a_sequential_analysis_loads_no_scipy_optimize(tmp_path):
    from tests.conftest import tiny_exp_dict, write_tiny

    exp = tiny_exp_dict() | {"sequential": {"method": "gst", "planned_units": 800}}
    path = write_tiny(tmp_path / "gst", exp)
    code = (
        "import abkit\n"
        f"result = abkit.analyze({str(path)!r})\n"
        "from abkit.stats.sequential import _boundaries\n"
        "assert _boundaries.cache_info().misses > 0  # bounds were solved\n"
    )
    assert loaded_after(code, ("scipy.optimize",)) == []
