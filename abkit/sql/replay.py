"""Render queries/aa_replay.sql: the experiment's units re-assigned N times by hash."""

from __future__ import annotations

from abkit.config import Experiment
from abkit.errors import ConfigError
from abkit.sql.clusters import cluster_context
from abkit.sql.render import analysis_context, render_template

MAX_RUNS = 10_000


def render_aa_replay_sql(experiment: Experiment, runs: int, seed: int) -> str:
    """The A/A replay query: moments per run and pseudo-arm, overall and daily.

    Raises:
        ConfigError: runs outside 1..10,000 or a negative seed.
    """
    if not 1 <= runs <= MAX_RUNS:
        raise ConfigError(f"--runs {runs} must be between 1 and {MAX_RUNS:,}")
    if seed < 0:
        raise ConfigError(f"--seed {seed} must be a non-negative integer")
    context = analysis_context(experiment) | {
        "runs": int(runs),
        "seed": int(seed),
        "cluster": cluster_context(experiment),
    }
    return render_template("aa_replay.sql", context)
