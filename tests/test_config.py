"""exp.yaml / metrics.yaml validation: every mistake is one line naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from abkit.config import load_experiment
from abkit.errors import ConfigError
from tests.conftest import EXAMPLES, tiny_exp_dict, write_tiny


def write_exp(tmp_path: Path, **changes: object) -> Path:
    exp = tiny_exp_dict() | changes
    return write_tiny(tmp_path / "exp", exp)


def test_example_experiment_loads():
    experiment = load_experiment(EXAMPLES / "exp.yaml")
    assert experiment.control == "control"
    assert experiment.treatments == ("treatment",)
    assert len(experiment.metrics) >= 4
    assert Path(experiment.data.events.path or "").is_absolute()
    assert len(experiment.config_hash) == 12


def test_config_hash_changes_with_the_file(tmp_path):
    first = load_experiment(write_exp(tmp_path)).config_hash
    second = load_experiment(write_exp(tmp_path, alpha=0.01)).config_hash
    assert first != second


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found; check the path"):
        load_experiment(tmp_path / "nope.yaml")


def test_malformed_yaml(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: x\nvariants:\n  control: 0.5\n   treatment: [\n")
    with pytest.raises(
        ConfigError, match=r"exp.yaml: line \d+, column \d+: malformed YAML"
    ):
        load_experiment(path)


def test_top_level_not_a_mapping(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_experiment(path)


def test_unknown_key_suggests_the_right_one(tmp_path):
    with pytest.raises(
        ConfigError, match="unknown key 'metrcs'; did you mean 'metrics'"
    ):
        load_experiment(write_exp(tmp_path, metrcs=["messages"]))


def test_unknown_nested_key(tmp_path):
    exp = tiny_exp_dict()
    exp["data"]["events"]["timestmp"] = "at"  # type: ignore[index]
    with pytest.raises(
        ConfigError, match=r"data.events.timestmp'; did you mean 'timestamp'"
    ):
        load_experiment(write_tiny(tmp_path / "e", exp))


def test_unknown_metric_suggests(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"metrics\[1\] 'revnue' is not defined in "
        r"metrics.yaml; did you mean 'revenue'",
    ):
        load_experiment(write_exp(tmp_path, metrics=["messages", "revnue"]))


def test_unknown_control_variant(tmp_path):
    with pytest.raises(
        ConfigError,
        match="control 'contrl' is not one of the variants; did you mean 'control'",
    ):
        load_experiment(write_exp(tmp_path, control="contrl"))


def test_missing_required_key(tmp_path):
    exp = tiny_exp_dict()
    del exp["metrics"]
    with pytest.raises(ConfigError, match="metrics: required key is missing; add it"):
        load_experiment(write_tiny(tmp_path / "e", exp))


def test_bad_metric_definition_names_the_metric(tmp_path):
    path = write_exp(tmp_path)
    (path.parent / "metrics.yaml").write_text(
        yaml.safe_dump(
            {"metrics": {"messages": {"kind": "average", "events": ["message"]}}}
        )
    )
    with pytest.raises(
        ConfigError, match=r"metrics.yaml: metrics.messages: kind: .*'mean'"
    ):
        load_experiment(path)


def test_source_needs_path_or_table(tmp_path):
    exp = tiny_exp_dict()
    exp["data"]["units"] = {"unit_id": "uid"}  # type: ignore[index]
    with pytest.raises(ConfigError, match="give exactly one of 'path' or 'table'"):
        load_experiment(write_tiny(tmp_path / "e", exp))


def test_weights_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match="shares must be > 0"):
        load_experiment(write_exp(tmp_path, variants={"control": 0.5, "treatment": 0}))


def test_every_message_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_experiment(write_exp(tmp_path, metrcs=["x"]))
    assert "\n" not in str(caught.value)
