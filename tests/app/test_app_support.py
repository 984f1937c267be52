import datetime as dt
import os
from pathlib import Path

import pytest
import yaml

from abkit.config import load_experiment
from abkit.errors import ConfigError
from abkit.frontends.app_support import (
    DIR_ENV,
    analysis_key,
    data_files,
    default_correction,
    discover_experiments,
    experiment_status,
    find_entry,
    page_url,
    primary_metric,
    resolve_app_dir,
)
from tests.conftest import tiny_exp_dict, write_tiny


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_analysis_key_follows_every_input_file(tiny_exp):
    experiment = load_experiment(tiny_exp)
    key = analysis_key(experiment)
    assert key == analysis_key(load_experiment(tiny_exp))
    assert hash(key) == hash(analysis_key(experiment))
    assert key.path == str(tiny_exp.resolve())
    assert {Path(name).name for name, _ in key.data_mtimes} == {
        "assignments.parquet",
        "events.parquet",
        "units.parquet",
    }
    for name in ("exp.yaml", "metrics.yaml", "events.parquet", "units.parquet"):
        before = analysis_key(load_experiment(tiny_exp))
        _touch_later(tiny_exp.parent / name)
        assert analysis_key(load_experiment(tiny_exp)) != before, name


def test_analysis_key_options_default_to_the_file(tiny_exp):
    experiment = load_experiment(tiny_exp)
    key = analysis_key(experiment)
    assert key.cuped is experiment.cuped.enabled
    assert key.correction == default_correction(experiment)
    assert key == analysis_key(
        experiment, cuped=experiment.cuped.enabled, correction=key.correction
    )
    assert analysis_key(experiment, cuped=not key.cuped) != key
    assert analysis_key(experiment, correction="bonferroni") != key


def test_data_files_expands_globs(tmp_path):
    exp = tiny_exp_dict()
    exp["data"]["events"]["path"] = "events*.parquet"  # type: ignore[index]
    path = write_tiny(tmp_path, exp)
    (tmp_path / "events.parquet").rename(tmp_path / "events_1.parquet")
    files = data_files(load_experiment(path))
    assert [Path(f).name for f in files] == [
        "assignments.parquet",
        "events_1.parquet",
        "units.parquet",
    ]


def test_discover_keeps_broken_files_with_their_message(tmp_path):
    write_tiny(tmp_path / "good")
    broken = tmp_path / "team" / "exp_broken.yaml"
    broken.parent.mkdir()
    exp = tiny_exp_dict() | {"name": "broken", "metrics": ["revnue"]}
    broken.write_text(yaml.safe_dump(exp))
    (tmp_path / "team" / "metrics.yaml").write_text(
        (tmp_path / "good" / "metrics.yaml").read_text()
    )
    hidden = tmp_path / ".trash" / "exp.yaml"
    hidden.parent.mkdir()
    hidden.write_text("name: hidden")
    (tmp_path / "good" / "notes.yaml").write_text("not an experiment")

    entries = discover_experiments(tmp_path)

    assert [e.relative for e in entries] == ["good/exp.yaml", "team/exp_broken.yaml"]
    good, bad = entries
    assert good.experiment is not None and good.error is None
    assert good.key == "tiny"
    assert bad.experiment is None
    with pytest.raises(ConfigError) as info:
        load_experiment(broken)
    assert bad.error == str(info.value)
    assert "\n" not in bad.error
    assert bad.key == "team/exp_broken.yaml"
    assert find_entry(entries, "tiny") is good
    assert find_entry(entries, "good/exp.yaml") is good
    assert find_entry(entries, "team/exp_broken.yaml") is bad
    assert find_entry(entries, "nope") is None
    assert find_entry(entries, None) is None


def test_duplicate_names_are_keyed_by_path(tmp_path):
    write_tiny(tmp_path / "a")
    write_tiny(tmp_path / "b")
    entries = discover_experiments(tmp_path)
    assert [e.key for e in entries] == ["a/exp.yaml", "b/exp.yaml"]
    assert discover_experiments(tmp_path / "missing") == ()


def test_primary_metric_and_correction_follow_the_decision_rules(tiny_exp, demo_exp):
    tiny = load_experiment(tiny_exp)
    assert primary_metric(tiny) == "messages"
    assert default_correction(tiny) == "none"
    demo = load_experiment(demo_exp)
    assert demo.decision is not None
    assert primary_metric(demo) == demo.decision.primary
    assert default_correction(demo) == demo.decision.correction


def test_status(tiny_exp):
    experiment = load_experiment(tiny_exp)
    today = dt.date(2026, 3, 20)
    assert experiment_status(experiment, None, today) == "running"
    ended = experiment.with_end(dt.date(2026, 3, 15))
    assert experiment_status(ended, None, today) == "stopped"
    assert experiment_status(ended, "extend", today) == "stopped"
    assert experiment_status(experiment, "extend", today) == "running"
    for decision in ("ship", "iterate", "stop"):
        assert experiment_status(experiment, decision, today) == "decided"


def test_resolve_app_dir(tmp_path):
    default = tmp_path / "default"
    assert resolve_app_dir([], {}, default) == default.resolve()
    assert resolve_app_dir([], {DIR_ENV: str(tmp_path)}, default) == tmp_path
    argv = ["--dir", str(tmp_path / "x")]
    assert resolve_app_dir(argv, {DIR_ENV: "y"}, default) == tmp_path / "x"
    assert resolve_app_dir([f"--dir={tmp_path}"], {}, default) == tmp_path


def test_page_url():
    params = {"exp": "icebreaker_prompts", "correction": "bh"}
    assert (
        page_url("http://127.0.0.1:8501/share?exp=old", "scorecard", params)
        == "http://127.0.0.1:8501/scorecard?exp=icebreaker_prompts&correction=bh"
    )
    assert (
        page_url("https://host/abkit/share", "scorecard", {"exp": "a b"})
        == "https://host/abkit/scorecard?exp=a+b"
    )
    assert page_url(None, "scorecard", {"exp": "x"}) == "scorecard?exp=x"
    assert page_url("", "scorecard", {}) == "scorecard"
