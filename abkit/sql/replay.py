"""Render the A/A replay queries: the experiment's units re-assigned N times by hash.

`queries/aa_replay.sql` gives the moments of the mean, proportion and ratio
metrics per run and pseudo-arm; `queries/aa_replay_quantiles.sql` the quantiles and
their bounding order statistics per quantile metric, run and pseudo-arm. Both use
the same re-assignment (`queries/replay_arm.sql`).
"""

from __future__ import annotations

from typing import Any

from abkit.config import Experiment
from abkit.errors import ConfigError
from abkit.sql.clusters import cluster_context
from abkit.sql.quantiles import quantile_context
from abkit.sql.render import analysis_context, render_template

MAX_RUNS = 10_000


def _replay_context(experiment: Experiment, runs: int, seed: int) -> dict[str, Any]:
    """The analysis context with the runs, the seed and the cluster column.

    Raises:
        ConfigError: runs outside 1..10,000 or a negative seed.
    """
    if not 1 <= runs <= MAX_RUNS:
        raise ConfigError(f"--runs {runs} must be between 1 and {MAX_RUNS:,}")
    if seed < 0:
        raise ConfigError(f"--seed {seed} must be a non-negative integer")
    return analysis_context(experiment) | {
        "runs": int(runs),
        "seed": int(seed),
        "cluster": cluster_context(experiment),
    }


def render_aa_replay_sql(experiment: Experiment, runs: int, seed: int) -> str:
    """The A/A replay query: moments per run and pseudo-arm, overall and daily.

    Raises:
        ConfigError: runs outside 1..10,000 or a negative seed.
    """
    return render_template("aa_replay.sql", _replay_context(experiment, runs, seed))


def render_aa_replay_quantiles_sql(
    experiment: Experiment, runs: int, seed: int
) -> str | None:
    """The replay of quantile metrics per run and pseudo-arm; None without any.

    Raises:
        ConfigError: runs outside 1..10,000 or a negative seed.
    """
    context = _replay_context(experiment, runs, seed)
    quantiles = quantile_context(experiment)
    if quantiles is None:
        return None
    return render_template("aa_replay_quantiles.sql", context | quantiles)
