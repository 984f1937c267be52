"""The simulated users: time grid, population, one chunk's units and traits, exposures.

`Population` holds what every chunk needs about every user (gender, appeal as a
partner); `Units` and `Traits` are drawn per chunk of users. `daily_rates` gives the
expected sessions per user and day before any effect, `draw_exposures` the first
trigger in the exposure window, and `assignment_rows` the logged exposures with their
faults (conflicting variants, re-exposures, sample-ratio loss).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abkit.demo.spec import (
    ACTIVITY_CAP,
    ACTIVITY_MEAN,
    ACTIVITY_SIGMA,
    AGES,
    BURN_IN_DAYS,
    CHAT_CAP,
    CHAT_MEAN,
    CHAT_SIGMA,
    CHURN_FACTOR,
    CHURN_SHARE,
    CONFLICT_SHARE,
    COUNTRIES,
    DAY_SHAPE,
    DAY_US,
    DRIFT_SIGMA,
    EXPOSURE_HAZARD,
    GENDERS,
    GLOBAL_DECAY,
    HOUR_US,
    HOURS_CDF,
    LIKE_CAP,
    NEVER,
    NEW_USER_BOOST,
    NEW_USER_DAYS,
    NEW_USER_SHARE,
    PLATFORMS,
    PURCHASE_CAP,
    REEXPOSURE_SHARE,
    TARGET_GENDER,
    WEEK_SHAPE,
    WEEKDAY,
    BoolArray,
    DemoSpec,
    FloatArray,
    IntArray,
)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Day grid of the whole log: pre-period, then the experiment."""

    first_day: datetime.date
    n_days: int
    pre_days: int
    exposure_days: int

    @classmethod
    def from_spec(cls, spec: DemoSpec) -> Timeline:
        """The day grid of `spec`: pre-period days, then the experiment's."""
        first_day = spec.start - datetime.timedelta(days=spec.pre_days)
        n_days = spec.pre_days + spec.duration_days
        return cls(first_day, n_days, spec.pre_days, spec.exposure_days)

    @property
    def day0_us(self) -> int:
        """Microseconds since the epoch at midnight of the first day."""
        return (self.first_day - datetime.date(1970, 1, 1)).days * DAY_US

    @property
    def end_us(self) -> int:
        """Microseconds since the epoch at the end of the log (exclusive)."""
        return self.day0_us + self.n_days * DAY_US

    @property
    def grid(self) -> IntArray:
        """Simulated days as offsets from the first logged day, burn-in first.

        The burn-in days are simulated but not logged, so that conversations and
        habits are already under way on the first logged day.
        """
        return np.arange(-BURN_IN_DAYS, self.n_days, dtype=np.int64)

    @property
    def grid_start_us(self) -> int:
        """Microseconds since the epoch at the start of the simulated days."""
        return self.day0_us - BURN_IN_DAYS * DAY_US

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
class Population:
    """What every chunk must know about every user: gender and appeal as a partner."""

    gender: npt.NDArray[np.int8]
    like_back: FloatArray
    pools: tuple[IntArray, ...]  # user indices per gender
    pool_weights: tuple[FloatArray, ...]  # cumulative attractiveness per pool

    @classmethod
    def draw(cls, rng: np.random.Generator, n_users: int) -> Population:
        """Gender, like-back probability and partner pools of all `n_users` users."""
        gender = rng.choice(3, n_users, p=GENDERS[1]).astype(np.int8)
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
        cumulative = np.cumsum(TARGET_GENDER, axis=1)[self.gender[chooser]]
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
class Units:
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
        population: Population,
        timeline: Timeline,
    ) -> Units:
        """Attributes of the users at global positions `index`."""
        size = index.size
        tenure = np.minimum(rng.exponential(400.0, size), 5 * 365).astype(np.int64)
        newcomer = rng.random(size) < NEW_USER_SHARE
        signup = np.where(
            newcomer, rng.integers(0, timeline.pre_days, size), -1 - tenure
        )
        platform = rng.choice(3, size, p=PLATFORMS[1])
        age = rng.choice(4, size, p=AGES[1])
        payer_odds = np.where(age >= 1, 0.10, 0.05) * np.where(platform == 0, 1.4, 0.8)
        return cls(
            index=index,
            platform=platform,
            country=rng.choice(len(COUNTRIES[0]), size, p=COUNTRIES[1]),
            gender=population.gender[index].astype(np.int64),
            age=age,
            prior_payer=(rng.random(size) < payer_odds) & ~newcomer,
            signup_day=signup,
        )


@dataclass(frozen=True, slots=True)
class Traits:
    """Latent behaviour of one chunk of users, fixed over the whole log."""

    activity: FloatArray  # expected sessions per day
    drift: FloatArray  # log-trend of activity over the log
    churn_day: FloatArray  # day from which activity collapses (inf: never)
    swipes: FloatArray  # mean swipes per session
    like_propensity: FloatArray  # probability that a swipe is a like
    chattiness: FloatArray  # mean messages per match
    purchase_probability: FloatArray  # per session; 0 for non-payers

    @classmethod
    def draw(cls, rng: np.random.Generator, units: Units, n_days: int) -> Traits:
        """Latent behaviour of `units` over a log of `n_days` days."""
        size = units.index.size
        female, young = units.gender == 1, units.age == 0
        mu = math.log(ACTIVITY_MEAN) - ACTIVITY_SIGMA**2 / 2
        platform_factor = np.array([1.05, 1.0, 0.6])[units.platform]
        churns = rng.random(size) < CHURN_SHARE
        propensity = np.select(
            [units.gender == 0, female],
            [rng.beta(2.5, 3.5, size), rng.beta(1.2, 5.0, size)],
            rng.beta(2.0, 4.0, size),
        )
        payer = rng.random(size) < 0.025 + 0.3 * units.prior_payer
        return cls(
            activity=np.minimum(rng.lognormal(mu, ACTIVITY_SIGMA, size), ACTIVITY_CAP)
            * platform_factor,
            drift=rng.normal(0.0, DRIFT_SIGMA, size),
            churn_day=np.where(churns, rng.uniform(0, n_days, size), np.inf),
            swipes=rng.lognormal(math.log(3.0) - 0.125, 0.5, size)
            * np.where(female, 0.8, 1.1)
            * np.where(young, 1.2, 1.0),
            like_propensity=LIKE_CAP * propensity,
            chattiness=np.minimum(
                rng.lognormal(
                    math.log(CHAT_MEAN) - CHAT_SIGMA**2 / 2, CHAT_SIGMA, size
                ),
                CHAT_CAP,
            )
            * np.where(female, 1.3, 1.0),
            purchase_probability=payer * PURCHASE_CAP * rng.beta(1.5, 5.0, size),
        )


def daily_rates(
    rng: np.random.Generator, units: Units, traits: Traits, timeline: Timeline
) -> FloatArray:
    """Expected sessions per user (rows) and day (columns) before any effect."""
    day = timeline.grid
    weekday = (timeline.first_day.weekday() + day) % 7
    week = (day - day[0]) // 7
    tenure = day[None, :] - units.signup_day[:, None]
    seasonal = WEEKDAY[weekday] * np.exp(-GLOBAL_DECAY * day)
    trend = (day - timeline.pre_days) / timeline.n_days
    rates: FloatArray = traits.activity[:, None] * seasonal[None, :]
    rates *= np.exp(traits.drift[:, None] * trend[None, :])
    rates *= 1 + NEW_USER_BOOST * np.exp(-np.maximum(tenure, 0) / NEW_USER_DAYS)
    rates *= np.where(day[None, :] >= traits.churn_day[:, None], CHURN_FACTOR, 1.0)
    rates *= rng.gamma(DAY_SHAPE, 1 / DAY_SHAPE, rates.shape)
    weeks = rng.gamma(WEEK_SHAPE, 1 / WEEK_SHAPE, (rates.shape[0], week[-1] + 1))
    rates *= weeks[:, week]
    rates[tenure < 0] = 0.0
    return rates


def time_of_day(rng: np.random.Generator, size: int) -> IntArray:
    """Microseconds after midnight, following the app's daily rhythm."""
    hour = np.searchsorted(HOURS_CDF, rng.random(size), "right")
    return hour.astype(np.int64) * HOUR_US + rng.integers(0, HOUR_US, size)


def draw_exposures(
    rng: np.random.Generator, rates: FloatArray, timeline: Timeline
) -> IntArray:
    """Exposure time (µs) at the first trigger in the window; NEVER if none.

    Triggers arrive at a rate proportional to the user's activity, so active users
    are exposed early, dormant ones late or never, and weekdays show through.
    """
    first = BURN_IN_DAYS + timeline.pre_days
    window = slice(first, first + timeline.exposure_days)
    hazard = np.cumsum(rates[:, window] * EXPOSURE_HAZARD, axis=1)
    threshold = rng.standard_exponential(size=(rates.shape[0],))
    day = timeline.pre_days + (hazard < threshold[:, None]).sum(axis=1)
    exposure = timeline.day0_us + day * DAY_US + time_of_day(rng, day.size)
    return np.where(threshold < hazard[:, -1], exposure, NEVER)


def assignment_rows(
    rng: np.random.Generator,
    arm: IntArray,
    exposure: IntArray,
    spec: DemoSpec,
    timeline: Timeline,
) -> tuple[IntArray, IntArray, IntArray]:
    """Logged exposures (user, arm, µs) with duplicates, conflicts and SRM loss."""
    exposed = np.flatnonzero(exposure != NEVER)
    fault = rng.random(exposed.size)
    conflict = exposed[fault < CONFLICT_SHARE]
    again = exposed[
        (fault >= CONFLICT_SHARE) & (fault < CONFLICT_SHARE + REEXPOSURE_SHARE)
    ]
    n_arms = len(spec.variants)
    other_arm = (arm[conflict] + rng.integers(1, n_arms, conflict.size)) % n_arms
    later = rng.exponential(2 * DAY_US, conflict.size + again.size).astype(np.int64)
    users = np.concatenate([exposed, conflict, again])
    arms = np.concatenate([arm[exposed], other_arm, arm[again]])
    times = np.concatenate([exposure[exposed], exposure[conflict], exposure[again]])
    times[exposed.size :] = np.minimum(
        times[exposed.size :] + later, timeline.end_us - 1
    )
    # Drawn whatever `srm` is, so that srm changes nothing but the dropped rows.
    lost = (rng.random(users.size) < spec.srm) & (arms == n_arms - 1)
    return users[~lost], arms[~lost], times[~lost]
