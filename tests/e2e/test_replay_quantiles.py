"""A/A replay on an experiment with a quantile metric: replayed metrics and the note."""

from __future__ import annotations

import pytest

from abkit.analysis.aa_replay import NOT_REPLAYED, aa_replay
from tests.test_cluster_planning import city_history


def test_quantile_metrics_are_named_as_not_replayed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = city_history(tmp_path_factory.mktemp("replay_quantiles"))
    result = aa_replay(path, runs=20, seed=5)
    assert result.skipped == ("message_p90",)
    assert {row.metric for row in result.rows} == {"city_messages", "likes"}
    assert f"note: message_p90: {NOT_REPLAYED}" in str(result)
    assert result.to_dict()["skipped"] == ["message_p90"]
    assert result.randomization_unit == "city"
