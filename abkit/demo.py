"""Realistic demo event log of a dating / social-discovery app, with known true lifts.

`generate_demo` writes four files into a directory:

- ``units.parquet``: one row per user (platform, country, gender, age bucket, ...).
- ``assignments.parquet``: exposure log (user, variant, exposed_at), with the logging
  faults real logs have: ~0.3 % of exposed users logged a second time in another
  variant (to be excluded), ~2 % re-exposed later in the same variant (first counts),
  and optionally a sample-ratio mismatch (`srm`) that drops rows of the last variant.
- ``events.parquet``: session, swipe, like, match, message, purchase, report, block.
  ``value`` is the session length in minutes for ``session``, the amount in USD for
  ``purchase`` and 1.0 otherwise; ``partner_id`` is set for like, match, message,
  report and block (partners come from the whole population, so interactions cross
  arms).
- ``manifest.json``: the spec, the true relative lift of every KPI per treatment
  variant, the date ranges (``end`` exclusive) and row counts. Written last, through
  a temporary name, so a half-written directory never looks complete.

Behaviour: each user has a lognormal activity level that drifts slowly, may churn,
and follows a weekday pattern; sessions per day are Poisson, swipes per session
negative binomial, a swipe is a like with the user's Beta propensity, a like is a
match with the *partner's* like-back probability, and matches lead to a negative
binomial number of messages. A 28-day pre-period precedes the experiment, so
pre-exposure activity predicts post-exposure activity (CUPED has something to use).
A user is exposed at the first arrival of an activity-driven trigger in the exposure
window (active users early, dormant users never).

True effects are multipliers on the rates of events at or after the exposure, so the
lifts in the manifest are ratios of expected per-user values by construction. They
are exact except for the few events that straddle the exposure instant (the
messages of a match made just before it, the swipes of a session under way), well
under 0.01 % of the post-exposure events.

Generation is vectorized with numpy in fixed chunks of users, each chunk seeded from
the master seed (``SeedSequence.spawn``), so the output depends on the spec only.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from abkit.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

GENERATOR_VERSION = 1
TABLES = ("units", "assignments", "events")
EVENTS = ("session", "swipe", "like", "match", "message", "purchase", "report", "block")
KPIS = ("sessions", "swipes", "likes", "matches", "messages", "purchases", "revenue")
LIFT_KEYS = ("likes", "messages", "sessions", "revenue")

_CHUNK_USERS = 50_000  # fixed: the output depends on it through the per-chunk seeds
_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000
_NEVER = np.iinfo(np.int64).max

# Units: category labels and their population shares.
_PLATFORMS = (("ios", "android", "web"), (0.47, 0.43, 0.10))
_COUNTRIES = (
    ("US", "GB", "DE", "FR", "BR", "IN", "other"),
    (0.36, 0.12, 0.10, 0.08, 0.12, 0.10, 0.12),
)
_GENDERS = (("m", "f", "other"), (0.64, 0.33, 0.03))
_AGES = (("18-24", "25-34", "35-44", "45+"), (0.30, 0.42, 0.18, 0.10))
# Share of likes a user of each gender (row) sends to each gender (column).
_TARGET_GENDER = np.array([[0.08, 0.88, 0.04], [0.90, 0.07, 0.03], [0.35, 0.35, 0.30]])

# Behaviour calibration (per user-day rates; about 45 events per user over 49 days).
_ACTIVITY_MEAN, _ACTIVITY_SIGMA = 0.2, 1.1  # sessions per day, lognormal
_DRIFT_SIGMA = 0.6  # per-user log-trend over the whole period
_DAY_SHAPE = 3.0  # gamma day-to-day mood: variance 1/shape
_CHURN_SHARE, _CHURN_FACTOR = 0.15, 0.05
_GLOBAL_DECAY = 0.003  # per day
_NEW_USER_SHARE, _NEW_USER_BOOST, _NEW_USER_DAYS = 0.06, 1.0, 21.0
_WEEKDAY = np.array([0.93, 0.90, 0.92, 0.97, 1.05, 1.12, 1.11])  # Monday first
_HOURS = np.array(
    [3, 2, 1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 5, 5, 6, 7, 8, 9, 10, 10, 8, 5], float
)
_HOURS_CDF = np.cumsum(_HOURS) / _HOURS.sum()
_EXPOSURE_HAZARD = 1.0  # exposure triggers per expected session
_SWIPES_DISPERSION, _MESSAGES_DISPERSION = 2.0, 0.8
_LIKE_CAP = 0.8  # like propensity = cap × Beta: leaves room for a +25 % effect
_PURCHASE_CAP = 0.3  # purchase probability per session of a payer = cap × Beta
_REPORT_RATE, _BLOCK_RATE = 0.003, 0.006  # per session
_CONFLICT_SHARE, _REEXPOSURE_SHARE = 0.003, 0.02


def _default_lifts() -> dict[str, dict[str, float]]:
    return {"treatment": {"likes": 0.02, "messages": 0.05}}


@dataclass(frozen=True, slots=True)
class DemoSpec:
    """Parameters of the demo event log; the same spec always gives the same data.

    Attributes:
        n_users: number of users (all active before the experiment).
        variants: arm names, the first is control.
        split: assignment probabilities, one per variant, summing to 1.
        seed: master seed.
        srm: share of the last variant's assignment rows lost by logging.
        start: first day of the experiment (and of the exposure window).
        pre_days: days of history before `start`.
        exposure_days: days in which users get exposed.
        duration_days: days of events from `start` on.
        lifts: variant → {kpi: relative lift} for kpis likes, messages, sessions and
            revenue. A kpi left out follows its driver (likes follow sessions,
            messages follow likes, revenue follows sessions); variants not listed
            have no effect.
    """

    n_users: int = 40_000
    variants: tuple[str, ...] = ("control", "treatment")
    split: tuple[float, ...] = (0.5, 0.5)
    seed: int = 20261005
    srm: float = 0.0
    start: datetime.date = datetime.date(2026, 10, 5)
    pre_days: int = 28
    exposure_days: int = 14
    duration_days: int = 21
    lifts: Mapping[str, Mapping[str, float]] = field(default_factory=_default_lifts)


DEFAULT_SPEC = DemoSpec()


# ---------------------------------------------------------------- spec and lifts


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(f"DemoSpec: {message}")


def validate_spec(spec: DemoSpec) -> None:
    """Check a spec, raising ConfigError with the fix on one line.

    Raises:
        ConfigError: when a parameter is out of range or inconsistent.
    """
    _check(spec.n_users > 0, f"n_users == {spec.n_users}, must be a positive integer")
    _check(len(spec.variants) >= 2, "variants needs at least two names (control first)")
    _check(
        len(set(spec.variants)) == len(spec.variants) and all(spec.variants),
        f"variants == {spec.variants}, names must be non-empty and distinct",
    )
    _check(
        len(spec.split) == len(spec.variants),
        f"split has {len(spec.split)} values for {len(spec.variants)} variants; "
        "give one share per variant",
    )
    _check(
        all(share > 0 for share in spec.split) and math.isclose(sum(spec.split), 1.0),
        f"split == {spec.split}, shares must be positive and sum to 1",
    )
    _check(0.0 <= spec.srm < 1.0, f"srm == {spec.srm}, must be in [0, 1)")
    _check(spec.seed >= 0, f"seed == {spec.seed}, must be a non-negative integer")
    _check(
        not isinstance(spec.start, datetime.datetime),
        "start must be a datetime.date, not a datetime",
    )
    _check(spec.pre_days >= 1, f"pre_days == {spec.pre_days}, must be at least 1")
    _check(
        1 <= spec.exposure_days <= spec.duration_days,
        f"exposure_days == {spec.exposure_days}, must be between 1 and "
        f"duration_days ({spec.duration_days})",
    )
    _validate_lifts(spec)


def _validate_lifts(spec: DemoSpec) -> None:
    _check(
        spec.variants[0] not in spec.lifts,
        f"lifts names the control variant '{spec.variants[0]}'; "
        "give lifts for treatment variants only",
    )
    for variant, lifts in spec.lifts.items():
        unknown = sorted(set(lifts) - set(LIFT_KEYS))
        _check(
            not unknown,
            f"lifts['{variant}'] has unknown kpi {unknown}; use {list(LIFT_KEYS)}",
        )
        _check(
            all(value > -1.0 for value in lifts.values()),
            f"lifts['{variant}'] == {dict(lifts)}, every lift must be above -1",
        )
    for variant, lift in true_lifts(spec).items():
        like_factor = (1 + lift["likes"]) / (1 + lift["sessions"])
        _check(
            like_factor * _LIKE_CAP <= 1.0,
            f"lifts['{variant}']: likes per session can rise at most "
            f"{1 / _LIKE_CAP - 1:.0%}; lower the likes lift",
        )
        revenue_factor = (1 + lift["revenue"]) / (1 + lift["sessions"])
        _check(
            revenue_factor * _PURCHASE_CAP <= 1.0,
            f"lifts['{variant}']: purchases per session can rise at most "
            f"{1 / _PURCHASE_CAP - 1:.0%}; lower the revenue lift",
        )


def true_lifts(spec: DemoSpec) -> dict[str, dict[str, float]]:
    """The true relative lift of every KPI per treatment variant, by construction.

    Lifts are ratios of expected per-user values after exposure, minus 1.

    Args:
        spec: the demo spec (lifts for variants not in `spec.variants` are ignored).

    Returns:
        variant → {kpi: lift} for every treatment variant and every kpi in `KPIS`.
    """
    result: dict[str, dict[str, float]] = {}
    for variant in spec.variants[1:]:
        given = spec.lifts.get(variant, {})
        sessions = float(given.get("sessions", 0.0))
        likes = float(given.get("likes", sessions))
        revenue = float(given.get("revenue", sessions))
        result[variant] = {
            "sessions": sessions,
            "swipes": sessions,
            "likes": likes,
            "matches": likes,
            "messages": float(given.get("messages", likes)),
            "purchases": revenue,
            "revenue": revenue,
        }
    return result


def spec_to_dict(spec: DemoSpec) -> dict[str, Any]:
    """The spec as plain JSON values (as stored in the manifest)."""
    return {
        "seed": int(spec.seed),
        "n_users": int(spec.n_users),
        "variants": list(spec.variants),
        "split": [float(share) for share in spec.split],
        "srm": float(spec.srm),
        "start": spec.start.isoformat(),
        "pre_days": int(spec.pre_days),
        "exposure_days": int(spec.exposure_days),
        "duration_days": int(spec.duration_days),
        "lifts": {
            variant: {kpi: float(value) for kpi, value in sorted(lifts.items())}
            for variant, lifts in sorted(spec.lifts.items())
        },
    }


@dataclass(frozen=True, slots=True)
class _Effects:
    """Per-arm rate multipliers applied to events at or after exposure."""

    sessions: FloatArray
    like_probability: FloatArray
    messages_per_match: FloatArray
    purchase_probability: FloatArray

    @classmethod
    def from_spec(cls, spec: DemoSpec) -> _Effects:
        lifts = [{kpi: 0.0 for kpi in KPIS}, *true_lifts(spec).values()]
        sessions = np.array([1 + lift["sessions"] for lift in lifts])
        likes = np.array([1 + lift["likes"] for lift in lifts])
        messages = np.array([1 + lift["messages"] for lift in lifts])
        revenue = np.array([1 + lift["revenue"] for lift in lifts])
        return cls(sessions, likes / sessions, messages / likes, revenue / sessions)


# ---------------------------------------------------------------- time and population


@dataclass(frozen=True, slots=True)
class _Timeline:
    """Day grid of the whole log: pre-period, then the experiment."""

    first_day: datetime.date
    n_days: int
    pre_days: int
    exposure_days: int

    @classmethod
    def from_spec(cls, spec: DemoSpec) -> _Timeline:
        first_day = spec.start - datetime.timedelta(days=spec.pre_days)
        n_days = spec.pre_days + spec.duration_days
        return cls(first_day, n_days, spec.pre_days, spec.exposure_days)

    @property
    def day0_us(self) -> int:
        """Microseconds since the epoch at midnight of the first day."""
        return (self.first_day - datetime.date(1970, 1, 1)).days * _DAY_US

    @property
    def end_us(self) -> int:
        """Microseconds since the epoch at the end of the log (exclusive)."""
        return self.day0_us + self.n_days * _DAY_US

    @property
    def weekday(self) -> npt.NDArray[np.intp]:
        """Weekday (Monday = 0) of every day."""
        return (self.first_day.weekday() + np.arange(self.n_days)) % 7

    def date_ranges(self) -> dict[str, dict[str, str]]:
        """ISO date ranges of the periods, `end` exclusive."""

        def day(offset: int) -> str:
            return (self.first_day + datetime.timedelta(days=offset)).isoformat()

        pre, exposure, total = self.pre_days, self.exposure_days, self.n_days
        return {
            "pre_period": {"start": day(0), "end": day(pre)},
            "experiment": {"start": day(pre), "end": day(total)},
            "exposure_window": {"start": day(pre), "end": day(pre + exposure)},
        }


@dataclass(frozen=True, slots=True)
class _Population:
    """What every chunk must know about every user: gender and appeal as a partner."""

    gender: npt.NDArray[np.int8]
    like_back: FloatArray
    pools: tuple[IntArray, ...]  # user indices per gender
    pool_weights: tuple[FloatArray, ...]  # cumulative attractiveness per pool

    @classmethod
    def draw(cls, rng: np.random.Generator, n_users: int) -> _Population:
        gender = rng.choice(3, n_users, p=_GENDERS[1]).astype(np.int8)
        attractiveness = rng.lognormal(0.0, 0.9, n_users)
        # Women are pickier on this kind of app: lower like-back probability.
        like_back = np.select(
            [gender == 0, gender == 1],
            [rng.beta(2.5, 5.0, n_users), rng.beta(1.2, 8.0, n_users)],
            rng.beta(2.0, 6.0, n_users),
        )
        pools, weights = [], []
        for code in range(3):  # three gender pools, not a loop over users
            pool = np.flatnonzero(gender == code)
            pool = pool if pool.size else np.arange(n_users)
            pools.append(pool.astype(np.int64))
            weights.append(np.cumsum(attractiveness[pool]))
        return cls(gender, like_back, tuple(pools), tuple(weights))

    def draw_partners(
        self, rng: np.random.Generator, chooser: IntArray
    ) -> IntArray:
        """Partner user index for interactions initiated by users `chooser`."""
        cumulative = np.cumsum(_TARGET_GENDER, axis=1)[self.gender[chooser]]
        uniform = rng.random(chooser.size)
        target = (uniform[:, None] > cumulative[:, :2]).sum(axis=1)
        partner = np.empty(chooser.size, np.int64)
        for code in range(3):
            rows = np.flatnonzero(target == code)
            weights = self.pool_weights[code]
            draws = rng.random(rows.size) * weights[-1]
            position = np.searchsorted(weights, draws, "right")
            partner[rows] = self.pools[code][np.minimum(position, weights.size - 1)]
        clash = partner == chooser  # rare: hand the interaction to the next user
        partner[clash] = (partner[clash] + 1) % self.gender.size
        return partner
