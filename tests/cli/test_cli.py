"""The CLI through typer's runner: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as scipy_stats
from typer.testing import CliRunner

from abkit.frontends.cli import app
from tests.conftest import tiny_exp_dict, write_tiny

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error:")
    assert "\n" not in message, message
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in message, message


def test_analyze_prints_scorecard(tiny_exp):
    result = run("analyze", str(tiny_exp))
    assert result.exit_code == 0, result.output
    for text in ("messages", "revenue", "payer", "treatment vs control", "srm"):
        assert text in result.stdout


def test_json_output_matches_scipy_on_unit_values(tiny_exp, tmp_path):
    out = tmp_path / "result.json"
    result = run("analyze", str(tiny_exp), "--format", "json", "--output", str(out))
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    messages = next(m for m in payload["metrics"] if m["metric"] == "messages")
    (control, control_pre), (treatment, treatment_pre) = _unit_messages(tiny_exp.parent)
    plain = scipy_stats.ttest_ind(treatment, control, equal_var=False)
    assert messages["unadjusted_pvalue"] == pytest.approx(plain.pvalue, rel=1e-9)
    assert messages["unadjusted_ci_lower"] == pytest.approx(
        plain.confidence_interval().low, rel=1e-9
    )
    # CUPED: y - θ(x - x̄) with θ pooled over both arms, then Welch
    y = np.concatenate([control, treatment])
    x = np.concatenate([control_pre, treatment_pre])
    theta = np.cov(y, x, ddof=1)[0, 1] / x.var(ddof=1)
    adjusted = [v - theta * (pre - x.mean()) for v, pre in
                ((control, control_pre), (treatment, treatment_pre))]  # fmt: skip
    cuped = scipy_stats.ttest_ind(adjusted[1], adjusted[0], equal_var=False)
    assert messages["cuped_coefficients"] == [pytest.approx(theta, rel=1e-9)]
    assert messages["pvalue"] == pytest.approx(cuped.pvalue, rel=1e-9)
    assert messages["ci_upper"] == pytest.approx(
        cuped.confidence_interval().high, rel=1e-9
    )
    assert payload["units"] == {"control": control.size, "treatment": treatment.size}
    assert payload["excluded_units"] == 1


Arm = tuple[np.ndarray, np.ndarray]


def _unit_messages(directory: Path) -> tuple[Arm, Arm]:
    """Per-user messages in [0, 7) days after exposure and in the 14 days before."""
    assignments = pd.read_parquet(directory / "assignments.parquet")
    events = pd.read_parquet(directory / "events.parquet")
    first = assignments.groupby("uid").agg(
        n=("arm", "nunique"), arm=("arm", "min"), at=("seen_at", "min")
    )
    first = first[first["n"] == 1]
    joined = events[events["name"] == "message"].merge(
        first, left_on="uid", right_index=True
    )
    offset = joined["at_x"] - joined["at_y"]
    day = pd.Timedelta(days=1)
    post = joined[(offset >= 0 * day) & (offset < 7 * day)].groupby("uid").size()
    pre = joined[(offset >= -14 * day) & (offset < 0 * day)].groupby("uid").size()
    post = post.reindex(first.index, fill_value=0)
    pre = pre.reindex(first.index, fill_value=0)
    arms = first["arm"]
    return tuple(  # type: ignore[return-value]
        (post[arms == a].to_numpy(float), pre[arms == a].to_numpy(float))
        for a in ("control", "treatment")
    )


def test_markdown_output(tiny_exp):
    result = run("analyze", str(tiny_exp), "--format", "markdown")
    assert result.exit_code == 0
    assert "| metric | control | treatment |" in result.stdout


def test_missing_file(tmp_path):
    assert_one_line_error(
        run("analyze", str(tmp_path / "missing.yaml")), "file not found"
    )


def test_malformed_yaml(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: [unclosed\n")
    assert_one_line_error(run("analyze", str(path)), "malformed YAML")


def test_unknown_key(tmp_path):
    path = write_tiny(tmp_path / "e", tiny_exp_dict() | {"alpah": 0.1})
    assert_one_line_error(
        run("analyze", str(path)), "unknown key 'alpah'", "did you mean 'alpha'"
    )


def test_unknown_metric(tmp_path):
    path = write_tiny(tmp_path / "e", tiny_exp_dict() | {"metrics": ["mesages"]})
    assert_one_line_error(run("analyze", str(path)), "did you mean 'messages'")


def test_unknown_variant(tmp_path):
    path = write_tiny(tmp_path / "e", tiny_exp_dict() | {"control": "baseline"})
    assert_one_line_error(run("analyze", str(path)), "control 'baseline' is not one of")


def test_mapped_column_missing_from_data(tmp_path):
    exp = tiny_exp_dict()
    exp["data"]["events"]["value"] = "amont"  # type: ignore[index]
    path = write_tiny(tmp_path / "e", exp)
    assert_one_line_error(
        run("analyze", str(path)),
        "data.events.value",
        "'amont'",
        "did you mean 'amount'",
    )


def test_empty_variant(tmp_path):
    exp = tiny_exp_dict() | {"variants": {"control": 0.5, "treatmnt": 0.5}}
    path = write_tiny(tmp_path / "e", exp)
    assert_one_line_error(
        run("analyze", str(path)),
        "variant 'treatmnt' has no exposed units",
        "did you mean 'treatment'",
    )


def test_missing_data_file(tmp_path):
    path = write_tiny(tmp_path / "e")
    (path.parent / "events.parquet").unlink()
    assert_one_line_error(run("analyze", str(path)), "cannot read", "events.parquet")


def test_injection_in_metric_expression_is_refused(tmp_path):
    path = write_tiny(tmp_path / "e")
    metrics = yaml.safe_load((path.parent / "metrics.yaml").read_text())
    metrics["metrics"]["revenue"]["value"] = (
        "(SELECT count(*) FROM read_csv('/etc/passwd'))"
    )
    (path.parent / "metrics.yaml").write_text(yaml.safe_dump(metrics))
    assert_one_line_error(
        run("analyze", str(path)), "metric 'revenue' value", "not allowed"
    )


def test_bad_format_option(tiny_exp):
    assert_one_line_error(
        run("analyze", str(tiny_exp), "--format", "xml"), "--format 'xml'"
    )


def test_bad_as_of(tiny_exp):
    assert_one_line_error(
        run("analyze", str(tiny_exp), "--as-of", "yesterday"), "YYYY-MM-DD"
    )


def test_sql_command_prints_dialect(tiny_exp):
    result = run("sql", str(tiny_exp), "--dialect", "spark")
    assert result.exit_code == 0
    assert "`messages__sum`" in result.stdout


def test_installed_executable(tiny_exp):
    executable = shutil.which("abkit") or str(Path(sys.executable).parent / "abkit")
    done = subprocess.run(
        [executable, "analyze", str(tiny_exp), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert {m["metric"] for m in payload["metrics"]} == {"messages", "revenue", "payer"}
    assert all(m["pvalue"] is None or 0 <= m["pvalue"] <= 1 for m in payload["metrics"])
    bad = subprocess.run(
        [executable, "analyze", "missing.yaml"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert not math.isnan(payload["srm"]["pvalue"])


def test_demo_into_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert_one_line_error(
        run("demo", "--dir", str(blocker), "--users", "2000"),
        "cannot write the demo data",
    )


def test_demo_generates_and_analyses(tmp_path):
    result = run("demo", "--dir", str(tmp_path), "--users", "3000", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["metrics"]) == 15
    assert (tmp_path / "demo" / "manifest.json").is_file()
    assert (tmp_path / "examples" / "exp.yaml").is_file()


def test_save_note_decide_history_report_lock(tiny_exp, tmp_path):
    store = str(tmp_path / "results.db")
    assert (
        run(
            "analyze", str(tiny_exp), "--save", "--store", store, "-f", "json"
        ).exit_code
        == 0
    )
    note = run("note", str(tiny_exp), "<script>alert(1)</script> looks good", "--author",
               "ana", "--metric", "messages", "--store", store)  # fmt: skip
    assert note.exit_code == 0, note.output
    decided = run("decide", str(tiny_exp), "ship", "--why", "clear win", "--author", "pm",
                  "--store", store)  # fmt: skip
    assert decided.exit_code == 0, decided.output
    history = run("history", str(tiny_exp), "--store", store)
    assert history.exit_code == 0
    assert "saved analyses" in history.stdout
    report = run("report", str(tiny_exp), "-f", "json", "--store", store)
    payload = json.loads(report.stdout)
    assert payload["decisions"][0]["decision"] == "ship"
    assert payload["notes"][0]["text"].startswith("<script>")
    markdown = run("report", str(tiny_exp), "-f", "markdown", "--store", store)
    assert "**ship** by pm: clear win" in markdown.stdout
    assert run("lock", str(tiny_exp)).exit_code == 0
    assert_one_line_error(run("lock", str(tiny_exp)), "already locked", "--force")


def test_bad_decision_and_unknown_metric_in_a_note(tiny_exp, tmp_path):
    store = str(tmp_path / "results.db")
    assert_one_line_error(
        run(
            "decide",
            str(tiny_exp),
            "shipit",
            "--why",
            "x",
            "--author",
            "pm",
            "--store",
            store,
        ),
        "did you mean 'ship'",
    )
    assert_one_line_error(
        run(
            "note",
            str(tiny_exp),
            "hi",
            "--author",
            "a",
            "--metric",
            "mesages",
            "--store",
            store,
        ),
        "did you mean 'messages'",
    )


def test_changed_config_after_lock_is_flagged(tiny_exp):
    assert run("lock", str(tiny_exp)).exit_code == 0
    spec = yaml.safe_load(tiny_exp.read_text())
    spec["alpha"] = 0.1
    tiny_exp.write_text(yaml.safe_dump(spec))
    payload = json.loads(run("analyze", str(tiny_exp), "-f", "json").stdout)
    check = next(c for c in payload["health"] if c["name"] == "pre_registration")
    assert check["status"] == "warning"
    assert "changed after the lock" in check["message"]


def test_plan_command(tiny_exp):
    result = run("plan", str(tiny_exp), "--mde", "0.1", "-f", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {row["metric"] for row in payload["rows"]} == {
        "messages",
        "revenue",
        "payer",
    }
    assert payload["rows"][0]["mde"] == 0.1
