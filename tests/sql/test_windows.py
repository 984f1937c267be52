"""Hand-made logs with known answers: windows, retention censoring, multi-arm."""

from __future__ import annotations

import pandas as pd
import pytest

import abkit
from tests.handmade import write_log

T0 = pd.Timestamp("2026-05-01 12:00")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def test_retention_censors_units_whose_day_is_not_observed(tmp_path):
    # Data ends at day 12. Users 1-4 exposed at day 0 (day 7 observed); users 5-6
    # exposed at day 9, three days before the data ends: not in the D7 base.
    assignments = [
        (u, "control" if u % 2 else "treatment", day(0)) for u in range(1, 5)
    ]
    assignments += [(5, "control", day(9)), (6, "treatment", day(9))]
    events = [
        (1, day(7.5), "session", 1.0),  # active on day 7
        (2, day(7.2), "session", 1.0),
        (3, day(6.9), "session", 1.0),  # day 6: not retained on day 7
        (5, day(9.5), "session", 1.0),
        (6, day(12), "session", 1.0),  # the last event sets the data end
    ]
    metrics = {"d7": {"kind": "retention", "events": ["session"], "days": [7]}}
    path = write_log(
        tmp_path, assignments, events, metrics, {"control": 0.5, "treatment": 0.5}
    )
    result = abkit.analyze(path)
    effect = result.metric("d7").effect
    assert result.units == {"control": 3, "treatment": 3}
    assert (effect.control.n, effect.treatment.n) == (2, 2)
    assert (effect.control.mean, effect.treatment.mean) == (0.5, 0.5)  # users 1,3 | 2,4


def test_windows_count_only_events_inside_them(tmp_path):
    assignments = [(1, "control", day(0)), (2, "treatment", day(0)), (3, "control", day(0)),
                   (4, "treatment", day(0))]  # fmt: skip
    events = [
        (1, day(-1), "like", 1.0),  # before exposure: pre-period only
        (1, day(0.5), "like", 1.0),
        (1, day(2.5), "like", 1.0),  # outside a [0, 2) window
        (2, day(1.99), "like", 1.0),
        (4, day(9), "like", 1.0),
    ]
    metrics = {
        "likes_2d": {"kind": "mean", "events": ["like"], "window": {"end_day": 2}},
        "likes_later": {"kind": "mean", "events": ["like"],
                        "window": {"start_day": 2, "end_day": 9}},
        "active_days": {"kind": "mean", "events": ["like"], "aggregate": "active_days"},
    }  # fmt: skip
    path = write_log(
        tmp_path, assignments, events, metrics, {"control": 0.5, "treatment": 0.5}
    )
    result = abkit.analyze(path)
    assert result.metric("likes_2d").effect.control.mean == pytest.approx(
        0.5
    )  # (1+0)/2
    assert result.metric("likes_2d").effect.treatment.mean == pytest.approx(0.5)
    assert result.metric("likes_later").effect.control.mean == pytest.approx(0.5)
    assert result.metric("likes_later").effect.treatment.mean == pytest.approx(0.0)
    assert result.metric("active_days").effect.control.mean == pytest.approx(1.0)


def test_window_edges_are_exact_to_the_microsecond(tmp_path):
    """An offset of exactly k days is day k: [exposure + k days, + k + 1 days)."""
    micro = pd.Timedelta(microseconds=1)
    assignments = [(1, "control", day(0)), (2, "treatment", day(0))]
    events = [
        (1, day(0) - micro, "like", 1.0),  # pre-period
        (1, day(0), "like", 1.0),  # day 0, first instant
        (1, day(1) - micro, "like", 1.0),  # day 0, last instant
        (1, day(1), "like", 1.0),  # day 1, outside the 1-day window
        (2, day(2) - micro, "like", 1.0),  # day 1, last instant
        (2, day(2), "like", 1.0),  # day 2: in neither window
        (2, day(-14), "like", 1.0),  # the pre-period's first instant
        (2, day(-14) - micro, "like", 1.0),  # before the pre-period
    ]
    metrics = {
        "likes_day0": {"kind": "mean", "events": ["like"], "window": {"end_day": 1}},
        "likes_day1": {"kind": "mean", "events": ["like"],
                       "window": {"start_day": 1, "end_day": 2}},
    }  # fmt: skip
    path = write_log(
        tmp_path, assignments, events, metrics, {"control": 0.5, "treatment": 0.5}
    )
    result = abkit.analyze(path)
    day0, day1 = result.metric("likes_day0").effect, result.metric("likes_day1").effect
    assert (day0.control.mean, day0.treatment.mean) == (2.0, 0.0)
    assert (day1.control.mean, day1.treatment.mean) == (1.0, 1.0)
    assert (day0.control.n, day0.treatment.n) == (1, 1)


def test_every_treatment_is_compared_with_the_control(tmp_path):
    variants = {"control": 0.5, "blue": 0.25, "green": 0.25}
    assignments, events = [], []
    for user in range(1, 401):
        variant = ["control", "control", "blue", "green"][user % 4]
        assignments.append((user, variant, day(user % 5)))
        lift = {"control": 0, "blue": 1, "green": 3}[variant]
        for k in range(user % 3 + lift):
            events.append((user, day(user % 5 + 0.1 * (k + 1)), "message", 1.0))
    events.append((1, day(30), "session", 1.0))
    metrics = {
        "messages": {"kind": "mean", "events": ["message"], "window": {"end_day": 7}}
    }
    path = write_log(tmp_path, assignments, events, metrics, variants)
    result = abkit.analyze(path)
    by_variant = {r.variant: r for r in result.metrics}
    assert set(by_variant) == {"blue", "green"}
    assert by_variant["green"].effect.difference == pytest.approx(3.0, abs=0.05)
    assert by_variant["blue"].effect.difference == pytest.approx(1.0, abs=0.05)
    assert by_variant["green"].verdict == "better"
    assert result.srm.pvalue > 0.001
