"""Moments about a shift: a large mean with a small spread keeps its variance.

Issue figure: 20,000 units with one event each of value 1e8 + N(0, 1) (+0.03 in
treatment). Raw sums cancel (the treatment's variance came out 0.0 and p = 0.44);
scipy's Welch test on the same values gives p = 0.0205.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import abkit
from abkit.aggregates.moments import JointMoments, Moments
from tests.handmade import write_log

N_UNITS = 20_000


def _write_large_mean_experiment(directory: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20260101)
    unit = np.arange(N_UNITS)
    variant = np.where(unit % 2 == 0, "control", "treatment")
    value = 1e8 + rng.normal(size=N_UNITS) + np.where(variant == "treatment", 0.03, 0)
    exposed = pd.Timestamp("2026-03-01") + pd.to_timedelta(unit % 1440, unit="min")
    assignments = pd.DataFrame(
        {"user_id": unit, "variant": variant, "exposed_at": exposed}
    )
    events = pd.DataFrame({
        "user_id": unit, "ts": exposed + pd.Timedelta(hours=1),
        "event": "session", "value": value,
    })  # fmt: skip
    session_ms = {"kind": "mean", "events": ["session"], "value": "value"}
    write_log(
        directory,
        assignments,
        events,
        {"session_ms": session_ms},
        {"control": 0.5, "treatment": 0.5},
        name="large_mean",
    )
    return {v: value[variant == v] for v in ("control", "treatment")}


def test_large_mean_small_spread_matches_scipy_welch(tmp_path):
    values = _write_large_mean_experiment(tmp_path)
    result = abkit.analyze(tmp_path / "exp.yaml", cuped=False)
    effect = result.metric("session_ms").effect
    control, treatment = values["control"], values["treatment"]
    expected = stats.ttest_ind(treatment, control, equal_var=False)
    assert expected.pvalue < 0.05  # the +0.03 shows (0.0067 for this seed)
    assert effect.pvalue == pytest.approx(expected.pvalue, rel=1e-6)
    for arm, sample in ((effect.control, control), (effect.treatment, treatment)):
        assert arm.n == sample.size
        assert arm.mean_variance * arm.n == pytest.approx(
            np.var(sample, ddof=1), rel=1e-9
        )


def test_shifted_moments_add_like_concatenation():
    rng = np.random.default_rng(7)
    first, second = 1e8 + rng.normal(size=5000), 1e8 + 0.5 + rng.normal(size=7000)

    def shifted(sample: np.ndarray, shift: float) -> Moments:
        d = sample - shift
        return Moments.from_shifted(sample.size, shift, d.sum(), (d * d).sum())

    combined = shifted(first, 1e8 - 3.0) + shifted(second, 1e8 + 2.0)
    both = np.concatenate([first, second])
    assert combined.n == both.size
    assert combined.mean == pytest.approx(both.mean(), rel=1e-15)
    assert combined.variance == pytest.approx(np.var(both, ddof=1), rel=1e-9)


def test_shifted_joint_moments_covariance_matches_numpy():
    rng = np.random.default_rng(3)
    x = 5e7 + rng.normal(size=4000)
    y = 1e8 + 0.5 * (x - 5e7) + rng.normal(size=4000)
    shift = (5e7, 1e8 + 1.0)
    dev = np.column_stack([y - shift[1], x - shift[0]])
    half = 1500
    parts = [
        JointMoments.from_shifted(len(d), ("y", "x"), (shift[1], shift[0]),
                                  d.sum(axis=0), d.T @ d)
        for d in (dev[:half], dev[half:])
    ]  # fmt: skip
    joined = parts[0] + parts[1]
    expected = np.cov(np.column_stack([y, x]), rowvar=False, ddof=1)
    np.testing.assert_allclose(joined.covariance_matrix(), expected, rtol=1e-9)
    assert joined.marginal("y").variance == pytest.approx(expected[0, 0], rel=1e-9)
    assert joined.mean("x") == pytest.approx(x.mean(), rel=1e-15)
