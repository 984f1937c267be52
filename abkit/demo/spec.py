"""What the demo generates: `DemoSpec`, its checks, the true lifts, the calibration.

`DemoSpec` holds what a caller may choose; the constants below hold the fixed
calibration of the simulated behaviour (population shares, rates, dispersions), which
`validate_spec` needs too (a lift must leave room under the like and purchase caps).
The other modules of `abkit.demo` share the calibration from here.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from abkit.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TABLES = ("units", "assignments", "events")
EVENTS = ("session", "swipe", "like", "match", "message", "purchase", "report", "block")
KPIS = ("sessions", "swipes", "likes", "matches", "messages", "purchases", "revenue")
LIFT_KEYS = ("likes", "messages", "sessions", "revenue")

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
NEVER = np.iinfo(np.int64).max

# Units: category labels and their population shares.
PLATFORMS = (("ios", "android", "web"), (0.47, 0.43, 0.10))
COUNTRIES = (
    ("US", "GB", "DE", "FR", "BR", "IN", "other"),
    (0.36, 0.12, 0.10, 0.08, 0.12, 0.10, 0.12),
)
GENDERS = (("m", "f", "other"), (0.64, 0.33, 0.03))
AGES = (("18-24", "25-34", "35-44", "45+"), (0.30, 0.42, 0.18, 0.10))
# Share of likes a user of each gender (row) sends to each gender (column).
TARGET_GENDER = np.array([[0.08, 0.88, 0.04], [0.90, 0.07, 0.03], [0.35, 0.35, 0.30]])

# Behaviour calibration (per user-day rates; about 45 events per user over 49 days).
ACTIVITY_MEAN, ACTIVITY_SIGMA = 0.2, 1.1  # sessions per day, lognormal
ACTIVITY_CAP = 4.0
DRIFT_SIGMA = 0.8  # per-user log-trend over the whole period
DAY_SHAPE = 3.0  # gamma day-to-day mood: variance 1/shape
WEEK_SHAPE = 5.0  # gamma week-to-week phases (holidays, a new relationship)
CHURN_SHARE, CHURN_FACTOR = 0.15, 0.05
GLOBAL_DECAY = 0.003  # per day
NEW_USER_SHARE, NEW_USER_BOOST, NEW_USER_DAYS = 0.06, 1.0, 21.0
WEEKDAY = np.array([0.93, 0.90, 0.92, 0.97, 1.05, 1.12, 1.11])  # Monday first
HOURS = np.array(
    [3, 2, 1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 5, 5, 6, 7, 8, 9, 10, 10, 8, 5], float
)
HOURS_CDF = np.cumsum(HOURS) / HOURS.sum()
EXPOSURE_HAZARD = 1.0  # exposure triggers per expected session
SWIPES_DISPERSION, MESSAGES_DISPERSION = 2.0, 4.0
CHAT_MEAN, CHAT_SIGMA = 2.0, 0.6  # messages per match, lognormal over users
CHAT_CAP = 10.0
SLOW_REPLY_DAYS, SLOW_REPLY_SIGMA = 3.0, 1.0  # lognormal delay of slow replies
LIKE_CAP = 0.8  # like propensity = cap × Beta: leaves room for a +25 % effect
PURCHASE_CAP = 0.3  # purchase probability per session of a payer = cap × Beta
REPORT_RATE, BLOCK_RATE = 0.003, 0.006  # per session
CONFLICT_SHARE, REEXPOSURE_SHARE = 0.003, 0.02
BURN_IN_DAYS = 7  # simulated before the first logged day, not logged
MAX_DAYS = 1000  # keeps the (user, time) sort key inside int64


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
        spec.pre_days + spec.duration_days <= MAX_DAYS,
        f"pre_days + duration_days == {spec.pre_days + spec.duration_days}, "
        f"must be at most {MAX_DAYS}",
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
            like_factor * LIKE_CAP <= 1.0,
            f"lifts['{variant}']: likes per session can rise at most "
            f"{1 / LIKE_CAP - 1:.0%}; lower the likes lift",
        )
        revenue_factor = (1 + lift["revenue"]) / (1 + lift["sessions"])
        _check(
            revenue_factor * PURCHASE_CAP <= 1.0,
            f"lifts['{variant}']: purchases per session can rise at most "
            f"{1 / PURCHASE_CAP - 1:.0%}; lower the revenue lift",
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
class Effects:
    """Per-arm rate multipliers applied to events at or after exposure."""

    sessions: FloatArray
    likes: FloatArray
    like_probability: FloatArray
    messages: FloatArray
    purchase_probability: FloatArray

    @classmethod
    def from_spec(cls, spec: DemoSpec) -> Effects:
        """Multipliers per arm (control first, all 1) from the true lifts of `spec`."""
        lifts = [{kpi: 0.0 for kpi in KPIS}, *true_lifts(spec).values()]
        sessions = np.array([1 + lift["sessions"] for lift in lifts])
        likes = np.array([1 + lift["likes"] for lift in lifts])
        messages = np.array([1 + lift["messages"] for lift in lifts])
        revenue = np.array([1 + lift["revenue"] for lift in lifts])
        return cls(sessions, likes, likes / sessions, messages, revenue / sessions)
