"""The calibration bench: its vectorised tests equal abkit's, on a small run."""

from __future__ import annotations

import numpy as np

from bench.calibration import LIFT, UNITS, run_batch, simulate_arm, table, true_values


def test_simulated_means_match_the_stated_truth() -> None:
    rng = np.random.default_rng(1)
    control = simulate_arm(rng, 200, 1.0)
    revenue, _, payers, _ = true_values()
    assert abs(control.y.sum() / (200 * UNITS) - revenue) < 0.02 * revenue
    assert abs(control.payers.sum() / (200 * UNITS) - payers) < 0.01


def test_small_batch_cross_checks_and_prints_every_row() -> None:
    """run_batch asserts equality with abkit's scalar tests; the table has 6 rows."""
    rng = np.random.default_rng(2)
    null: dict[str, list[np.ndarray]] = {}
    effect: dict[str, list[np.ndarray]] = {}
    run_batch(rng, 40, 1.0, null)
    run_batch(rng, 40, LIFT, effect)
    text = table(null, effect, 40, 1.0)
    assert text.count("\n") >= 8
    assert "Fieller" in text and "SRM" in text
    assert float(np.concatenate(null["peeking:reject"]).mean()) >= float(
        np.concatenate(null["sequential:reject"]).mean()
    )
