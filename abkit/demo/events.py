"""Event drawing for one chunk of users: the funnel from sessions to messages.

Sessions are Poisson per user-day, swipes per session negative binomial, a swipe is a
like with the user's propensity, a like is a match with the partner's like-back
probability, and a match leads to a conversation. Effects start at exposure: the
candidates are drawn at the highest rate of any arm and thinned per event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abkit.demo.population import Population, Timeline, Traits, Units, time_of_day
from abkit.demo.spec import (
    BLOCK_RATE,
    DAY_US,
    EVENTS,
    MESSAGES_DISPERSION,
    REPORT_RATE,
    SLOW_REPLY_DAYS,
    SLOW_REPLY_SIGMA,
    SWIPES_DISPERSION,
    Effects,
    FloatArray,
    IntArray,
)


@dataclass(frozen=True, slots=True)
class Events:
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
    ) -> Events:
        """Rows of `event` (a name in `EVENTS`); value 1.0 and no partner by default."""
        return cls(
            user,
            ts,
            EVENTS.index(event),
            np.ones(user.size) if value is None else value,
            np.full(user.size, -1, np.int64) if partner is None else partner,
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    """Everything generated for one chunk of users, before conversion to Arrow."""

    units: Units
    traits: Traits
    arm: IntArray
    exposure: IntArray  # µs, NEVER when not exposed
    effects: Effects

    def boost(self, name: str, user: npt.NDArray[np.intp], ts: IntArray) -> FloatArray:
        """Multiplier `name` for events of `user` at `ts`: 1 before exposure."""
        factor: FloatArray = getattr(self.effects, name)[self.arm[user]]
        return np.where(ts >= self.exposure[user], factor, 1.0)


def _draw_sessions(
    rng: np.random.Generator, chunk: Chunk, rates: FloatArray, timeline: Timeline
) -> Events:
    """Session starts: Poisson per user-day, thinned so effects start at exposure."""
    ceiling = np.maximum(chunk.effects.sessions, 1.0)[chunk.arm]
    counts = rng.poisson(rates * ceiling[:, None]).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    user, day = np.divmod(cell, timeline.grid.size)
    start = timeline.grid_start_us + day * DAY_US + time_of_day(rng, cell.size)
    keep = rng.random(cell.size) * ceiling[user] < chunk.boost("sessions", user, start)
    user, start = user[keep], start[keep]
    minutes = np.clip(rng.lognormal(1.6, 0.8, user.size), 0.2, 120.0).round(1)
    return Events.of("session", user, start, value=minutes)


def _draw_swipes(
    rng: np.random.Generator, chunk: Chunk, sessions: Events
) -> tuple[Events, Events]:
    """Swipes within sessions, and the likes among them."""
    mean = chunk.traits.swipes[sessions.user]
    counts = rng.negative_binomial(
        SWIPES_DISPERSION, SWIPES_DISPERSION / (SWIPES_DISPERSION + mean)
    )
    session = np.repeat(np.arange(sessions.user.size), counts)
    user = sessions.user[session]
    offset = rng.random(session.size) * sessions.value[session] * 60e6
    ts = sessions.ts[session] + offset.astype(np.int64)
    chance = chunk.traits.like_propensity[user] * chunk.boost(
        "like_probability", user, ts
    )
    liked = rng.random(user.size) < chance
    return Events.of("swipe", user, ts), Events.of("like", user[liked], ts[liked])


def _draw_matches(
    rng: np.random.Generator,
    chunk: Chunk,
    likes: Events,
    population: Population,
) -> tuple[Events, Events]:
    """Partners of likes; a like is a match with the partner's like-back probability."""
    partner = population.draw_partners(rng, chunk.units.index[likes.user])
    likes = Events.of("like", likes.user, likes.ts, partner=partner)
    matched = rng.random(partner.size) < population.like_back[partner]
    matches = Events.of(
        "match", likes.user[matched], likes.ts[matched], partner=partner[matched]
    )
    return likes, matches


def _draw_messages(rng: np.random.Generator, chunk: Chunk, matches: Events) -> Events:
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
        MESSAGES_DISPERSION, MESSAGES_DISPERSION / (MESSAGES_DISPERSION + mean)
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
    return Events.of(
        "message", user[kept], ts[kept], partner=matches.partner[match][kept]
    )


def _conversation_delays(rng: np.random.Generator, size: int) -> IntArray:
    """Delay (µs) of a message after its match: half at once, half over days."""
    quick = rng.exponential(3 * 60e6, size)
    slow = rng.lognormal(math.log(DAY_US * SLOW_REPLY_DAYS), SLOW_REPLY_SIGMA, size)
    return np.where(rng.random(size) < 0.5, quick, slow).astype(np.int64) + 1


def _draw_session_extras(
    rng: np.random.Generator,
    chunk: Chunk,
    sessions: Events,
    population: Population,
) -> list[Events]:
    """Purchases (payers only, lognormal .99 prices), reports and blocks."""
    offset = (rng.random(sessions.user.size) * sessions.value * 60e6).astype(np.int64)
    ts = sessions.ts + offset
    chance = chunk.traits.purchase_probability[sessions.user] * chunk.boost(
        "purchase_probability", sessions.user, ts
    )
    bought = rng.random(ts.size) < chance
    price = np.maximum(np.round(rng.lognormal(2.2, 0.7, bought.sum())), 1.0) - 0.01
    extras = [Events.of("purchase", sessions.user[bought], ts[bought], value=price)]
    draw = rng.random(ts.size)
    for event, low, high in (
        ("report", 0.0, REPORT_RATE),
        ("block", REPORT_RATE, REPORT_RATE + BLOCK_RATE),
    ):
        hit = (draw >= low) & (draw < high)
        chooser = chunk.units.index[sessions.user[hit]]
        partner = population.draw_partners(rng, chooser)
        extras.append(Events.of(event, sessions.user[hit], ts[hit], partner=partner))
    return extras


def draw_events(
    rng: np.random.Generator,
    chunk: Chunk,
    rates: FloatArray,
    timeline: Timeline,
    population: Population,
) -> list[Events]:
    """Every event of one chunk, in funnel order (the order ties keep when sorted)."""
    sessions = _draw_sessions(rng, chunk, rates, timeline)
    swipes, likes = _draw_swipes(rng, chunk, sessions)
    likes, matches = _draw_matches(rng, chunk, likes, population)
    messages = _draw_messages(rng, chunk, matches)
    extras = _draw_session_extras(rng, chunk, sessions, population)
    return [sessions, swipes, likes, matches, messages, *extras]
