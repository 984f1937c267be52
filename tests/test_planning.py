"""Planning on the demo's own history: sizes match statsmodels, CUPED shrinks them."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower

from abkit.analysis.planning import plan
from abkit.config import load_experiment
from abkit.stats.sequential import gst_inflation


@pytest.fixture(scope="module")
def fixed_experiment(demo_exp):
    experiment = load_experiment(demo_exp)
    return experiment.model_copy(update={"sequential": None})


def test_sizes_equal_statsmodels(fixed_experiment):
    result = plan(fixed_experiment, mde=0.05)
    row = next(r for r in result.rows if r.metric == "sessions_per_user")
    delta = 0.05 * row.baseline
    std = row.std * math.sqrt(1 - row.variance_reduction)
    expected = NormalIndPower().solve_power(
        effect_size=delta / std, alpha=0.05, power=0.8
    )
    assert row.n_per_arm == math.ceil(expected)
    assert row.n_total == 2 * row.n_per_arm
    assert row.days == math.ceil(row.n_total / result.daily_units)


def test_cuped_shrinks_the_sample_by_the_measured_reduction(fixed_experiment):
    with_cuped = {r.metric: r for r in plan(fixed_experiment, mde=0.05).rows}
    no_cuped_settings = fixed_experiment.cuped.model_copy(update={"enabled": False})
    plain = {r.metric: r for r in plan(
        fixed_experiment.model_copy(update={"cuped": no_cuped_settings}), mde=0.05
    ).rows}  # fmt: skip
    for name in ("messages_per_user", "likes_per_user", "like_rate"):
        reduction = with_cuped[name].variance_reduction
        assert reduction > 0.2
        ratio = with_cuped[name].n_per_arm / plain[name].n_per_arm
        assert ratio == pytest.approx(
            1 - reduction, abs=2 / plain[name].n_per_arm + 1e-9
        )


def test_sequential_design_inflates_the_sample(demo_exp, fixed_experiment):
    sequential = plan(load_experiment(demo_exp), mde=0.05, days=14)
    fixed = plan(fixed_experiment, mde=0.05, days=14)
    expected = gst_inflation(
        [(k + 1) / 14 for k in range(14)], 0.05, 0.8, spending="obf"
    )
    assert sequential.inflation == pytest.approx(expected, rel=1e-12)
    assert 1.0 < sequential.inflation < 1.1
    first_seq = sequential.rows[0]
    first_fixed = fixed.rows[0]
    assert first_seq.n_per_arm == pytest.approx(
        first_fixed.n_per_arm * expected, rel=1e-4
    )


def test_mde_in_days_inverts_the_sample_size(fixed_experiment):
    result = plan(fixed_experiment, mde=0.05, days=30)
    row = next(r for r in result.rows if r.metric == "likes_per_user")
    again = next(r for r in plan(fixed_experiment, mde=row.mde_in_days, days=30).rows
                 if r.metric == "likes_per_user")  # fmt: skip
    assert again.days == pytest.approx(30, abs=1)
