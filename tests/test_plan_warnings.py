"""`abkit plan` says plainly when a metric cannot reach its MDE in the planned time."""

from __future__ import annotations

from pathlib import Path

import pytest

import abkit
from abkit.analysis.planning import PlanResult, plan_cells, underpowered_lines


@pytest.fixture(scope="module")
def demo_plan(demo_exp: Path) -> PlanResult:
    return abkit.plan(demo_exp)  # exp.yaml's 2% minimum effect, 26,000 planned units


def test_a_plan_short_of_units_is_called_underpowered(demo_plan: PlanResult):
    assert demo_plan.planned_units == 26_000  # sequential.planned_units
    rows = {row.metric: row for row in demo_plan.rows}
    primary, payer = rows["messages_per_user"], rows["payer_conversion"]
    assert primary.n_total > 400_000 and primary.underpowered
    assert payer.days > 10_000 and payer.underpowered  # was marked "ok"
    lines = underpowered_lines(demo_plan)
    assert lines[0].startswith("UNDERPOWERED: 15 of 15 metrics")
    line = next(ln for ln in lines if "payer_conversion" in ln)
    assert f"{payer.n_total:,} units ({payer.days:,} days)" in line
    assert f"about {payer.mde_in_days:+.1%}" in line
    assert plan_cells(payer)[-1].endswith("(underpowered)")
    assert "UNDERPOWERED" in str(demo_plan)


def test_a_reachable_mde_is_not_flagged(demo_exp: Path):
    easy = abkit.plan(demo_exp, mde=0.5)
    rows = {row.metric: row for row in easy.rows}
    assert rows["like_rate"].n_total <= 26_000
    assert not rows["like_rate"].underpowered
    assert all("like_rate:" not in line for line in underpowered_lines(easy))


def test_a_proportion_baseline_is_a_percentage(demo_plan: PlanResult):
    payer = next(row for row in demo_plan.rows if row.metric == "payer_conversion")
    assert plan_cells(payer)[1] == f"{payer.baseline * 100:.2f}%"
