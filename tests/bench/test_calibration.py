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
    """run_batch asserts equality with abkit's scalar tests; the table has 8 rows."""
    rng = np.random.default_rng(2)
    null: dict[str, list[np.ndarray]] = {}
    effect: dict[str, list[np.ndarray]] = {}
    run_batch(rng, 40, 1.0, null)
    run_batch(rng, 40, LIFT, effect)
    text = table(null, effect, 40, 1.0)
    assert text.count("\n") >= 8
    assert "Fieller" in text and "SRM" in text and "messages/match" in text
    assert len([line for line in text.splitlines() if line.count(" | ") == 5]) == 10
    assert float(np.concatenate(null["peeking:reject"]).mean()) >= float(
        np.concatenate(null["sequential:reject"]).mean()
    )


def test_ratio_arm_matches_the_stated_truth_and_abkit() -> None:
    """Messages per match averages E[r]; the vectorised delta variance is abkit's."""
    from bench.calibration import welch
    from bench.calibration_ratio import (
        cross_check_ratio,
        cuped_ratio,
        delta_ratio,
        simulate_ratio_arm,
        true_ratio,
    )

    rng = np.random.default_rng(3)
    control = simulate_ratio_arm(rng, 20, UNITS, 1.0)
    treated = simulate_ratio_arm(rng, 20, UNITS, LIFT)
    pooled = control.sums[:, 0].sum() / control.sums[:, 1].sum()
    assert abs(pooled - true_ratio()) < 0.02 * true_ratio()
    tests = {
        "ratio": delta_ratio(control, treated, welch),
        "ratio_cuped": cuped_ratio(control, treated, welch),
    }
    cross_check_ratio(control, treated, tests, 0.05)  # raises on any mismatch
    assert (tests["ratio_cuped"].treatment_var < tests["ratio"].treatment_var).all()
