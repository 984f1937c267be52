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
  arms). A like is logged with its swipe, and a match with its like, at the same
  instant; rows are sorted by user and time.
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
from concurrent.futures import Future, ThreadPoolExecutor
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

__all__ = [
    "DEFAULT_SPEC",
    "EVENTS",
    "GENERATOR_VERSION",
    "KPIS",
    "MANIFEST",
    "TABLES",
    "DemoSpec",
    "demo_is_current",
    "generate_demo",
    "spec_to_dict",
    "true_lifts",
    "validate_spec",
]

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
_ACTIVITY_CAP = 4.0
_DRIFT_SIGMA = 0.8  # per-user log-trend over the whole period
_DAY_SHAPE = 3.0  # gamma day-to-day mood: variance 1/shape
_WEEK_SHAPE = 5.0  # gamma week-to-week phases (holidays, a new relationship)
_CHURN_SHARE, _CHURN_FACTOR = 0.15, 0.05
_GLOBAL_DECAY = 0.003  # per day
_NEW_USER_SHARE, _NEW_USER_BOOST, _NEW_USER_DAYS = 0.06, 1.0, 21.0
_WEEKDAY = np.array([0.93, 0.90, 0.92, 0.97, 1.05, 1.12, 1.11])  # Monday first
_HOURS = np.array(
    [3, 2, 1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 5, 5, 6, 7, 8, 9, 10, 10, 8, 5], float
)
_HOURS_CDF = np.cumsum(_HOURS) / _HOURS.sum()
_EXPOSURE_HAZARD = 1.0  # exposure triggers per expected session
_SWIPES_DISPERSION, _MESSAGES_DISPERSION = 2.0, 4.0
_CHAT_MEAN, _CHAT_SIGMA = 2.0, 0.6  # messages per match, lognormal over users
_CHAT_CAP = 10.0
_SLOW_REPLY_DAYS, _SLOW_REPLY_SIGMA = 3.0, 1.0  # lognormal delay of slow replies
_LIKE_CAP = 0.8  # like propensity = cap × Beta: leaves room for a +25 % effect
_PURCHASE_CAP = 0.3  # purchase probability per session of a payer = cap × Beta
_REPORT_RATE, _BLOCK_RATE = 0.003, 0.006  # per session
_CONFLICT_SHARE, _REEXPOSURE_SHARE = 0.003, 0.02
_BURN_IN_DAYS = 7  # simulated before the first logged day, not logged
_MAX_DAYS = 1000  # keeps the (user, time) sort key inside int64


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
    _check(
        isinstance(spec.n_users, int) and spec.n_users > 0,
        f"n_users == {spec.n_users}, must be a positive integer",
    )
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
    _check(
        isinstance(spec.seed, int) and spec.seed >= 0,
        f"seed == {spec.seed}, must be a non-negative integer",
    )
    _check(
        not isinstance(spec.start, datetime.datetime),
        "start must be a datetime.date, not a datetime",
    )
    _check(spec.pre_days >= 1, f"pre_days == {spec.pre_days}, must be at least 1")
    _check(
        spec.pre_days + spec.duration_days <= _MAX_DAYS,
        f"pre_days + duration_days == {spec.pre_days + spec.duration_days}, "
        f"must be at most {_MAX_DAYS}",
    )
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
            all(math.isfinite(value) and value > -1.0 for value in lifts.values()),
            f"lifts['{variant}'] == {dict(lifts)}, "
            "every lift must be a finite number above -1",
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
    likes: FloatArray
    like_probability: FloatArray
    messages: FloatArray
    purchase_probability: FloatArray

    @classmethod
    def from_spec(cls, spec: DemoSpec) -> _Effects:
        lifts = [{kpi: 0.0 for kpi in KPIS}, *true_lifts(spec).values()]
        sessions = np.array([1 + lift["sessions"] for lift in lifts])
        likes = np.array([1 + lift["likes"] for lift in lifts])
        messages = np.array([1 + lift["messages"] for lift in lifts])
        revenue = np.array([1 + lift["revenue"] for lift in lifts])
        return cls(sessions, likes, likes / sessions, messages, revenue / sessions)


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
    def grid(self) -> IntArray:
        """Simulated days as offsets from the first logged day, burn-in first.

        The burn-in days are simulated but not logged, so that conversations and
        habits are already under way on the first logged day.
        """
        return np.arange(-_BURN_IN_DAYS, self.n_days, dtype=np.int64)

    @property
    def grid_start_us(self) -> int:
        """Microseconds since the epoch at the start of the simulated days."""
        return self.day0_us - _BURN_IN_DAYS * _DAY_US

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
            [rng.beta(3.0, 4.0, n_users), rng.beta(1.5, 6.0, n_users)],
            rng.beta(2.0, 4.0, n_users),
        )
        pools, weights = [], []
        for code in range(3):  # three gender pools, not a loop over users
            pool = np.flatnonzero(gender == code)
            pool = pool if pool.size else np.arange(n_users)
            pools.append(pool.astype(np.int64))
            weights.append(np.cumsum(attractiveness[pool]))
        return cls(gender, like_back, tuple(pools), tuple(weights))

    def draw_partners(self, rng: np.random.Generator, chooser: IntArray) -> IntArray:
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


# ---------------------------------------------------------------- one chunk of users


@dataclass(frozen=True, slots=True)
class _Units:
    """Attributes of one chunk of users (codes index the label tuples above)."""

    index: IntArray  # global user index: user_id − 1
    platform: IntArray
    country: IntArray
    gender: IntArray
    age: IntArray
    prior_payer: BoolArray
    signup_day: IntArray  # day offset from the first day of the log

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        index: IntArray,
        population: _Population,
        timeline: _Timeline,
    ) -> _Units:
        size = index.size
        tenure = np.minimum(rng.exponential(400.0, size), 5 * 365).astype(np.int64)
        newcomer = rng.random(size) < _NEW_USER_SHARE
        signup = np.where(
            newcomer, rng.integers(0, timeline.pre_days, size), -1 - tenure
        )
        platform = rng.choice(3, size, p=_PLATFORMS[1])
        age = rng.choice(4, size, p=_AGES[1])
        payer_odds = np.where(age >= 1, 0.10, 0.05) * np.where(platform == 0, 1.4, 0.8)
        return cls(
            index=index,
            platform=platform,
            country=rng.choice(len(_COUNTRIES[0]), size, p=_COUNTRIES[1]),
            gender=population.gender[index].astype(np.int64),
            age=age,
            prior_payer=(rng.random(size) < payer_odds) & ~newcomer,
            signup_day=signup,
        )


@dataclass(frozen=True, slots=True)
class _Traits:
    """Latent behaviour of one chunk of users, fixed over the whole log."""

    activity: FloatArray  # expected sessions per day
    drift: FloatArray  # log-trend of activity over the log
    churn_day: FloatArray  # day from which activity collapses (inf: never)
    swipes: FloatArray  # mean swipes per session
    like_propensity: FloatArray  # probability that a swipe is a like
    chattiness: FloatArray  # mean messages per match
    purchase_probability: FloatArray  # per session; 0 for non-payers

    @classmethod
    def draw(cls, rng: np.random.Generator, units: _Units, n_days: int) -> _Traits:
        size = units.index.size
        female, young = units.gender == 1, units.age == 0
        mu = math.log(_ACTIVITY_MEAN) - _ACTIVITY_SIGMA**2 / 2
        platform_factor = np.array([1.05, 1.0, 0.6])[units.platform]
        churns = rng.random(size) < _CHURN_SHARE
        propensity = np.select(
            [units.gender == 0, female],
            [rng.beta(2.5, 3.5, size), rng.beta(1.2, 5.0, size)],
            rng.beta(2.0, 4.0, size),
        )
        payer = rng.random(size) < 0.025 + 0.3 * units.prior_payer
        return cls(
            activity=np.minimum(rng.lognormal(mu, _ACTIVITY_SIGMA, size), _ACTIVITY_CAP)
            * platform_factor,
            drift=rng.normal(0.0, _DRIFT_SIGMA, size),
            churn_day=np.where(churns, rng.uniform(0, n_days, size), np.inf),
            swipes=rng.lognormal(math.log(3.0) - 0.125, 0.5, size)
            * np.where(female, 0.8, 1.1)
            * np.where(young, 1.2, 1.0),
            like_propensity=_LIKE_CAP * propensity,
            chattiness=np.minimum(
                rng.lognormal(
                    math.log(_CHAT_MEAN) - _CHAT_SIGMA**2 / 2, _CHAT_SIGMA, size
                ),
                _CHAT_CAP,
            )
            * np.where(female, 1.3, 1.0),
            purchase_probability=payer * _PURCHASE_CAP * rng.beta(1.5, 5.0, size),
        )


def _daily_rates(
    rng: np.random.Generator, units: _Units, traits: _Traits, timeline: _Timeline
) -> FloatArray:
    """Expected sessions per user (rows) and day (columns) before any effect."""
    day = timeline.grid
    weekday = (timeline.first_day.weekday() + day) % 7
    week = (day - day[0]) // 7
    tenure = day[None, :] - units.signup_day[:, None]
    seasonal = _WEEKDAY[weekday] * np.exp(-_GLOBAL_DECAY * day)
    trend = (day - timeline.pre_days) / timeline.n_days
    rates: FloatArray = traits.activity[:, None] * seasonal[None, :]
    rates *= np.exp(traits.drift[:, None] * trend[None, :])
    rates *= 1 + _NEW_USER_BOOST * np.exp(-np.maximum(tenure, 0) / _NEW_USER_DAYS)
    rates *= np.where(day[None, :] >= traits.churn_day[:, None], _CHURN_FACTOR, 1.0)
    rates *= rng.gamma(_DAY_SHAPE, 1 / _DAY_SHAPE, rates.shape)
    weeks = rng.gamma(_WEEK_SHAPE, 1 / _WEEK_SHAPE, (rates.shape[0], week[-1] + 1))
    rates *= weeks[:, week]
    rates[tenure < 0] = 0.0
    return rates


def _time_of_day(rng: np.random.Generator, size: int) -> IntArray:
    """Microseconds after midnight, following the app's daily rhythm."""
    hour = np.searchsorted(_HOURS_CDF, rng.random(size), "right")
    return hour.astype(np.int64) * _HOUR_US + rng.integers(0, _HOUR_US, size)


def _draw_exposures(
    rng: np.random.Generator, rates: FloatArray, timeline: _Timeline
) -> IntArray:
    """Exposure time (µs) at the first trigger in the window; _NEVER if none.

    Triggers arrive at a rate proportional to the user's activity, so active users
    are exposed early, dormant ones late or never, and weekdays show through.
    """
    first = _BURN_IN_DAYS + timeline.pre_days
    window = slice(first, first + timeline.exposure_days)
    hazard = np.cumsum(rates[:, window] * _EXPOSURE_HAZARD, axis=1)
    threshold = rng.standard_exponential(size=(rates.shape[0],))
    day = timeline.pre_days + (hazard < threshold[:, None]).sum(axis=1)
    exposure = timeline.day0_us + day * _DAY_US + _time_of_day(rng, day.size)
    return np.where(threshold < hazard[:, -1], exposure, _NEVER)


def _assignment_rows(
    rng: np.random.Generator,
    arm: IntArray,
    exposure: IntArray,
    spec: DemoSpec,
    timeline: _Timeline,
) -> tuple[IntArray, IntArray, IntArray]:
    """Logged exposures (user, arm, µs) with duplicates, conflicts and SRM loss."""
    exposed = np.flatnonzero(exposure != _NEVER)
    fault = rng.random(exposed.size)
    conflict = exposed[fault < _CONFLICT_SHARE]
    again = exposed[
        (fault >= _CONFLICT_SHARE) & (fault < _CONFLICT_SHARE + _REEXPOSURE_SHARE)
    ]
    n_arms = len(spec.variants)
    other_arm = (arm[conflict] + rng.integers(1, n_arms, conflict.size)) % n_arms
    later = rng.exponential(2 * _DAY_US, conflict.size + again.size).astype(np.int64)
    users = np.concatenate([exposed, conflict, again])
    arms = np.concatenate([arm[exposed], other_arm, arm[again]])
    times = np.concatenate([exposure[exposed], exposure[conflict], exposure[again]])
    times[exposed.size :] = np.minimum(
        times[exposed.size :] + later, timeline.end_us - 1
    )
    # Drawn whatever `srm` is, so that srm changes nothing but the dropped rows.
    lost = (rng.random(users.size) < spec.srm) & (arms == n_arms - 1)
    return users[~lost], arms[~lost], times[~lost]


@dataclass(frozen=True, slots=True)
class _Events:
    """A block of event rows; `user` is the chunk-local user position."""

    user: npt.NDArray[np.intp]
    ts: IntArray
    event: int
    value: FloatArray
    partner: IntArray  # global user index, -1 when none

    @classmethod
    def of(
        cls,
        event: str,
        user: npt.NDArray[np.intp],
        ts: IntArray,
        value: FloatArray | None = None,
        partner: IntArray | None = None,
    ) -> _Events:
        return cls(
            user,
            ts,
            EVENTS.index(event),
            np.ones(user.size) if value is None else value,
            np.full(user.size, -1, np.int64) if partner is None else partner,
        )


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Everything generated for one chunk of users, before conversion to Arrow."""

    units: _Units
    traits: _Traits
    arm: IntArray
    exposure: IntArray  # µs, _NEVER when not exposed
    effects: _Effects

    def boost(self, name: str, user: npt.NDArray[np.intp], ts: IntArray) -> FloatArray:
        """Multiplier `name` for events of `user` at `ts`: 1 before exposure."""
        factor: FloatArray = getattr(self.effects, name)[self.arm[user]]
        return np.where(ts >= self.exposure[user], factor, 1.0)


def _draw_sessions(
    rng: np.random.Generator, chunk: _Chunk, rates: FloatArray, timeline: _Timeline
) -> _Events:
    """Session starts: Poisson per user-day, thinned so effects start at exposure."""
    ceiling = np.maximum(chunk.effects.sessions, 1.0)[chunk.arm]
    counts = rng.poisson(rates * ceiling[:, None]).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    user, day = np.divmod(cell, timeline.grid.size)
    start = timeline.grid_start_us + day * _DAY_US + _time_of_day(rng, cell.size)
    keep = rng.random(cell.size) * ceiling[user] < chunk.boost("sessions", user, start)
    user, start = user[keep], start[keep]
    minutes = np.clip(rng.lognormal(1.6, 0.8, user.size), 0.2, 120.0).round(1)
    return _Events.of("session", user, start, value=minutes)


def _draw_swipes(
    rng: np.random.Generator, chunk: _Chunk, sessions: _Events
) -> tuple[_Events, _Events]:
    """Swipes within sessions, and the likes among them."""
    mean = chunk.traits.swipes[sessions.user]
    counts = rng.negative_binomial(
        _SWIPES_DISPERSION, _SWIPES_DISPERSION / (_SWIPES_DISPERSION + mean)
    )
    session = np.repeat(np.arange(sessions.user.size), counts)
    user = sessions.user[session]
    offset = rng.random(session.size) * sessions.value[session] * 60e6
    ts = sessions.ts[session] + offset.astype(np.int64)
    chance = chunk.traits.like_propensity[user] * chunk.boost(
        "like_probability", user, ts
    )
    liked = rng.random(user.size) < chance
    return _Events.of("swipe", user, ts), _Events.of("like", user[liked], ts[liked])


def _draw_matches(
    rng: np.random.Generator,
    chunk: _Chunk,
    likes: _Events,
    population: _Population,
) -> tuple[_Events, _Events]:
    """Partners of likes; a like is a match with the partner's like-back probability."""
    partner = population.draw_partners(rng, chunk.units.index[likes.user])
    likes = _Events.of("like", likes.user, likes.ts, partner=partner)
    matched = rng.random(partner.size) < population.like_back[partner]
    matches = _Events.of(
        "match", likes.user[matched], likes.ts[matched], partner=partner[matched]
    )
    return likes, matches


def _draw_messages(
    rng: np.random.Generator, chunk: _Chunk, matches: _Events
) -> _Events:
    """Messages of each match's conversation, spread over minutes to days.

    Every message at or after exposure is as likely as the messages lift says: a
    match made after exposure already carries the likes lift, so its messages get
    the rest. Candidates are drawn at the highest rate and thinned per message.
    """
    effects, arm = chunk.effects, chunk.arm[matches.user]
    after_match = effects.messages / effects.likes
    ceiling = np.maximum(np.maximum(effects.messages, after_match), 1.0)[arm]
    mean = chunk.traits.chattiness[matches.user] * ceiling
    counts = rng.negative_binomial(
        _MESSAGES_DISPERSION, _MESSAGES_DISPERSION / (_MESSAGES_DISPERSION + mean)
    )
    match = np.repeat(np.arange(matches.user.size), counts)
    user, exposure = matches.user[match], chunk.exposure[matches.user[match]]
    ts = matches.ts[match] + _conversation_delays(rng, match.size)
    factor = np.where(
        matches.ts[match] >= exposure,
        after_match[arm[match]],
        effects.messages[arm[match]],
    )
    chance = np.where(ts >= exposure, factor, 1.0) / ceiling[match]
    kept = rng.random(match.size) < chance
    return _Events.of(
        "message", user[kept], ts[kept], partner=matches.partner[match][kept]
    )


def _conversation_delays(rng: np.random.Generator, size: int) -> IntArray:
    """Delay (µs) of a message after its match: half at once, half over days."""
    quick = rng.exponential(3 * 60e6, size)
    slow = rng.lognormal(math.log(_DAY_US * _SLOW_REPLY_DAYS), _SLOW_REPLY_SIGMA, size)
    return np.where(rng.random(size) < 0.5, quick, slow).astype(np.int64) + 1


def _draw_session_extras(
    rng: np.random.Generator,
    chunk: _Chunk,
    sessions: _Events,
    population: _Population,
) -> list[_Events]:
    """Purchases (payers only, lognormal .99 prices), reports and blocks."""
    offset = (rng.random(sessions.user.size) * sessions.value * 60e6).astype(np.int64)
    ts = sessions.ts + offset
    chance = chunk.traits.purchase_probability[sessions.user] * chunk.boost(
        "purchase_probability", sessions.user, ts
    )
    bought = rng.random(ts.size) < chance
    price = np.maximum(np.round(rng.lognormal(2.2, 0.7, bought.sum())), 1.0) - 0.01
    extras = [_Events.of("purchase", sessions.user[bought], ts[bought], value=price)]
    draw = rng.random(ts.size)
    for event, low, high in (
        ("report", 0.0, _REPORT_RATE),
        ("block", _REPORT_RATE, _REPORT_RATE + _BLOCK_RATE),
    ):
        hit = (draw >= low) & (draw < high)
        chooser = chunk.units.index[sessions.user[hit]]
        partner = population.draw_partners(rng, chooser)
        extras.append(_Events.of(event, sessions.user[hit], ts[hit], partner=partner))
    return extras


def _draw_events(
    rng: np.random.Generator,
    chunk: _Chunk,
    rates: FloatArray,
    timeline: _Timeline,
    population: _Population,
) -> list[_Events]:
    """Every event of one chunk, in funnel order (the order ties keep when sorted)."""
    sessions = _draw_sessions(rng, chunk, rates, timeline)
    swipes, likes = _draw_swipes(rng, chunk, sessions)
    likes, matches = _draw_matches(rng, chunk, likes, population)
    messages = _draw_messages(rng, chunk, matches)
    extras = _draw_session_extras(rng, chunk, sessions, population)
    return [sessions, swipes, likes, matches, messages, *extras]


# ---------------------------------------------------------------- Arrow tables

UNITS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("signup_date", pa.date32()),
        ("platform", pa.string()),
        ("country", pa.string()),
        ("gender", pa.string()),
        ("age_bucket", pa.string()),
        ("prior_payer", pa.bool_()),
    ]
)
ASSIGNMENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("variant", pa.string()),
        ("exposed_at", pa.timestamp("us")),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("ts", pa.timestamp("us")),
        ("event", pa.string()),
        ("value", pa.float64()),
        ("partner_id", pa.int64()),
    ]
)


def _labels(codes: npt.NDArray[Any], labels: tuple[str, ...]) -> pa.Array:
    """String column from integer codes, built in Arrow (no Python strings per row)."""
    indices = pa.array(codes.astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels)).cast(pa.string())


def _timestamps(us: IntArray) -> pa.Array:
    return pa.array(us.view("datetime64[us]"), type=pa.timestamp("us"))


def _units_table(units: _Units, timeline: _Timeline) -> pa.Table:
    first_day = (timeline.first_day - datetime.date(1970, 1, 1)).days
    signup = (first_day + units.signup_day).astype("datetime64[D]")
    columns = [
        pa.array(units.index + 1),
        pa.array(signup, type=pa.date32()),
        _labels(units.platform, _PLATFORMS[0]),
        _labels(units.country, _COUNTRIES[0]),
        _labels(units.gender, _GENDERS[0]),
        _labels(units.age, _AGES[0]),
        pa.array(units.prior_payer),
    ]
    return pa.Table.from_arrays(columns, schema=UNITS_SCHEMA)


def _assignments_table(
    rows: tuple[IntArray, IntArray, IntArray], units: _Units, variants: tuple[str, ...]
) -> pa.Table:
    user, arm, ts = rows
    order = np.lexsort((ts, user))
    columns = [
        pa.array(units.index[user[order]] + 1),
        _labels(arm[order], variants),
        _timestamps(ts[order]),
    ]
    return pa.Table.from_arrays(columns, schema=ASSIGNMENTS_SCHEMA)


def _events_table(
    blocks: list[_Events], units: _Units, timeline: _Timeline
) -> tuple[pa.Table, IntArray]:
    """Events of one chunk in the log's time range, sorted by user and time.

    Returns:
        The table and the number of rows of each event in `EVENTS`.
    """
    user = np.concatenate([block.user for block in blocks])
    ts = np.concatenate([block.ts for block in blocks])
    event = np.concatenate([np.full(b.user.size, b.event, np.int8) for b in blocks])
    value = np.concatenate([block.value for block in blocks])
    partner = np.concatenate([block.partner for block in blocks])
    inside = np.flatnonzero((ts >= timeline.day0_us) & (ts < timeline.end_us))
    # One int64 key (user, then time); stable, so ties keep the funnel order.
    span = timeline.n_days * _DAY_US
    key = user[inside] * span + (ts[inside] - timeline.day0_us)
    order = inside[np.argsort(key, kind="stable")]
    columns = [
        pa.array(units.index[user[order]] + 1),
        _timestamps(ts[order]),
        _labels(event[order], EVENTS),
        pa.array(value[order]),
        pa.array(partner[order] + 1, mask=partner[order] < 0),
    ]
    counts = np.bincount(event[order], minlength=len(EVENTS)).astype(np.int64)
    return pa.Table.from_arrays(columns, schema=EVENTS_SCHEMA), counts


def _generate_chunk(
    rng: np.random.Generator,
    index: IntArray,
    spec: DemoSpec,
    population: _Population,
) -> tuple[dict[str, pa.Table], IntArray]:
    """The three tables for users `index` (global positions), and event counts."""
    timeline = _Timeline.from_spec(spec)
    units = _Units.draw(rng, index, population, timeline)
    traits = _Traits.draw(rng, units, timeline.n_days)
    rates = _daily_rates(rng, units, traits, timeline)
    split = np.asarray(spec.split) / sum(spec.split)
    arm = rng.choice(len(spec.variants), index.size, p=split)
    exposure = _draw_exposures(rng, rates, timeline)
    rows = _assignment_rows(rng, arm, exposure, spec, timeline)
    chunk = _Chunk(units, traits, arm, exposure, _Effects.from_spec(spec))
    blocks = _draw_events(rng, chunk, rates, timeline, population)
    events, event_counts = _events_table(blocks, units, timeline)
    tables = {
        "units": _units_table(units, timeline),
        "assignments": _assignments_table(rows, units, spec.variants),
        "events": events,
    }
    return tables, event_counts


# ---------------------------------------------------------------- files

_SCHEMAS = {
    "units": UNITS_SCHEMA,
    "assignments": ASSIGNMENTS_SCHEMA,
    "events": EVENTS_SCHEMA,
}
MANIFEST = "manifest.json"


class _TableWriters:
    """One Parquet writer per table, writing to temporary names until `commit`.

    Writing (encoding and compression, which release the GIL) runs on a background
    thread while the next chunk is generated; at most one chunk waits in memory.
    """

    def __init__(self, out_dir: Path) -> None:
        self._paths = {name: out_dir / f"{name}.parquet" for name in TABLES}
        self._writers = {
            name: pq.ParquetWriter(_temporary(path), _SCHEMAS[name], compression="zstd")
            for name, path in self._paths.items()
        }
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None
        self.row_counts = dict.fromkeys(TABLES, 0)

    def write(self, tables: Mapping[str, pa.Table]) -> None:
        """Append one chunk's tables (in the background)."""
        self._wait()
        self._pending = self._executor.submit(self._write_now, tables)
        for name, table in tables.items():
            self.row_counts[name] += table.num_rows

    def _write_now(self, tables: Mapping[str, pa.Table]) -> None:
        for name, table in tables.items():
            self._writers[name].write_table(table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def commit(self) -> None:
        """Finish writing, close the files and move them to their final names."""
        self._wait()
        self._executor.shutdown()
        for name, path in self._paths.items():
            self._writers[name].close()
            os.replace(_temporary(path), path)

    def abort(self) -> None:
        """Stop writing, close and delete the temporary files."""
        with contextlib.suppress(Exception):
            self._wait()
        self._executor.shutdown()
        for name, path in self._paths.items():
            with contextlib.suppress(Exception):
                self._writers[name].close()
            _temporary(path).unlink(missing_ok=True)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _write_json_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    temporary = _temporary(path)
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _manifest(
    spec: DemoSpec, row_counts: Mapping[str, int], event_counts: Mapping[str, int]
) -> dict[str, Any]:
    return {
        "generator": "abkit.demo.generator",
        "generator_version": GENERATOR_VERSION,
        "spec": spec_to_dict(spec),
        "true_lifts": true_lifts(spec),
        "dates": _Timeline.from_spec(spec).date_ranges(),
        "files": {name: f"{name}.parquet" for name in TABLES},
        "row_counts": dict(row_counts),
        "event_counts": dict(event_counts),
        "notes": {
            "dates": "start inclusive, end exclusive; timestamps are naive UTC",
            "value": "session: minutes; purchase: USD amount; other events: 1.0",
            "partner_id": "set for like, match, message, report and block",
            "true_lifts": "ratio of expected per-user values after exposure, minus 1",
            "kpis": "sessions, swipes, likes, matches, messages, purchases: event "
            "counts; revenue: sum of purchase value",
        },
    }


def generate_demo(
    out_dir: Path,
    spec: DemoSpec = DEFAULT_SPEC,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the demo event log (three Parquet files and manifest.json) to `out_dir`.

    Args:
        out_dir: directory to write into (created if missing; files overwritten).
        spec: what to generate.
        progress: called with (users done, users total) after every chunk.

    Returns:
        The manifest, as written to ``manifest.json``.

    Raises:
        ConfigError: when the spec is invalid.
    """
    validate_spec(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # incomplete until written again
    starts = range(0, spec.n_users, _CHUNK_USERS)
    seeds = np.random.SeedSequence(spec.seed).spawn(1 + len(starts))
    population = _Population.draw(np.random.default_rng(seeds[0]), spec.n_users)
    event_counts = np.zeros(len(EVENTS), np.int64)
    writers = _TableWriters(out_dir)
    try:
        for seed, first in zip(seeds[1:], starts, strict=True):
            index = np.arange(first, min(first + _CHUNK_USERS, spec.n_users))
            rng = np.random.default_rng(seed)
            tables, chunk_counts = _generate_chunk(rng, index, spec, population)
            writers.write(tables)
            event_counts += chunk_counts
            if progress is not None:
                progress(int(index[-1]) + 1, spec.n_users)
    except BaseException:
        writers.abort()
        raise
    writers.commit()
    counts = dict(zip(EVENTS, event_counts.tolist(), strict=True))
    manifest = _manifest(spec, writers.row_counts, counts)
    _write_json_atomically(out_dir / MANIFEST, manifest)
    return manifest


def demo_is_current(out_dir: Path, spec: DemoSpec) -> bool:
    """True when `out_dir` holds a complete demo generated with exactly this spec.

    Args:
        out_dir: a directory written by `generate_demo`.
        spec: the spec the caller wants.

    Returns:
        Whether the manifest matches the spec and this generator version, and every
        Parquet file is present with the row count the manifest records.
    """
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("generator_version") != GENERATOR_VERSION:
            return False
        if manifest.get("spec") != spec_to_dict(spec):
            return False
        return all(
            pq.ParquetFile(out_dir / f"{name}.parquet").metadata.num_rows
            == manifest["row_counts"][name]
            for name in TABLES
        )
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        pa.ArrowException,
    ):
        return False
