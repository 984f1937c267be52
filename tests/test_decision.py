"""Decision rules on constructed logs: every outcome is reachable, with its reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import abkit
from tests.handmade import write_log

T0 = pd.Timestamp("2026-04-01 09:00")
METRICS = {
    "messages": {"kind": "mean", "events": ["message"], "window": {"end_day": 7}},
    "likes": {"kind": "mean", "events": ["like"], "window": {"end_day": 7}},
    "reports": {"kind": "proportion", "events": ["report"], "window": {"end_day": 7},
                "direction": "lower"},
}  # fmt: skip


def build(
    directory: Path,
    *,
    n: int = 4000,
    treated_share: float = 0.5,
    message_lift: float = 0.0,
    report_rate: tuple[float, float] = (0.02, 0.02),
    seed: int = 0,
) -> Path:
    rng = np.random.default_rng(seed)
    users = np.arange(n)
    treated = rng.random(n) < treated_share
    exposed = T0 + pd.to_timedelta(rng.integers(0, 3 * 86400, n), unit="s")
    rows = []
    for name, rate in (("message", 3.0), ("like", 5.0)):
        lam = rate * rng.gamma(2.0, 0.5, n) * np.where(treated & (name == "message"),
                                                      1 + message_lift, 1.0)  # fmt: skip
        counts = rng.poisson(lam)
        who = np.repeat(users, counts)
        rows.append(
            pd.DataFrame(
                {"user_id": who, "event": name, "offset": rng.uniform(0, 6.9, who.size)}
            )
        )
    reports = rng.random(n) < np.where(treated, report_rate[1], report_rate[0])
    rows.append(
        pd.DataFrame({"user_id": users[reports], "event": "report", "offset": 1.0})
    )
    events = pd.concat(rows, ignore_index=True)
    events["ts"] = exposed[events["user_id"].to_numpy()] + pd.to_timedelta(
        events["offset"], unit="D"
    )
    events = pd.concat([events, pd.DataFrame({"user_id": [0], "event": ["session"],
                                              "ts": [T0 + pd.Timedelta(days=15)]})])  # fmt: skip
    variant = np.where(treated, "treatment", "control")
    assignments = pd.DataFrame(
        {"user_id": users, "variant": variant, "exposed_at": exposed}
    )
    return write_log(
        directory,
        assignments,
        events.assign(value=1.0),
        METRICS,
        {"control": 0.5, "treatment": 0.5},
        name="rules",
        decision={
            "primary": "messages",
            "minimum_effect": 0.02,
            "secondary": ["likes"],
            "guardrails": {"reports": {"margin": 0.3}},
        },
        bayesian={},
    )


def test_ship(tmp_path):
    result = abkit.analyze(build(tmp_path, n=12000, message_lift=0.15, seed=1))
    assert result.decision is not None
    assert result.decision.outcome == "ship", result.decision.reasons
    assert "recommendation: ship" in result.decision.summary
    assert "raised messages by +" in result.decision.summary
    assert any("no guardrail harmed" in r for r in result.decision.reasons)


def test_do_not_ship_when_a_guardrail_is_harmed(tmp_path):
    result = abkit.analyze(build(tmp_path, message_lift=0.15, report_rate=(0.02, 0.06)))
    assert result.decision is not None
    assert result.decision.outcome == "do_not_ship"
    guard = result.metric("reports").guardrail
    assert guard is not None
    assert guard.status == "harmed"
    assert any(
        "guardrail harmed beyond its margin: reports" in r
        for r in result.decision.reasons
    )


def test_keep_running_when_the_evidence_is_thin(tmp_path):
    result = abkit.analyze(build(tmp_path, n=600, message_lift=0.03))
    assert result.decision is not None
    assert result.decision.outcome == "keep_running"
    assert any("not enough evidence" in r for r in result.decision.reasons)


def test_investigate_on_sample_ratio_mismatch(tmp_path):
    result = abkit.analyze(build(tmp_path, treated_share=0.56, message_lift=0.15))
    assert result.decision is not None
    assert result.decision.outcome == "investigate"
    assert any("srm" in r for r in result.decision.reasons)
    assert "investigate data quality" in result.decision.summary


def test_do_not_ship_when_the_minimum_effect_is_ruled_out(tmp_path):
    result = abkit.analyze(build(tmp_path, n=20000, message_lift=0.0, seed=3))
    assert result.decision is not None
    assert result.decision.outcome == "do_not_ship"
    assert any("no effect of at least +2.0%" in r for r in result.decision.reasons)


@pytest.mark.parametrize(
    "method", ["holm", "hochberg", "bh", "bonferroni", "by", "holm-sidak", "sidak"]
)
def test_family_p_values_equal_statsmodels(tmp_path, method):
    result = abkit.analyze(
        build(tmp_path, message_lift=0.04, seed=5), correction=method
    )
    family = [result.metric("messages"), result.metric("likes")]
    reference = {"holm": "holm", "hochberg": "simes-hochberg", "bh": "fdr_bh",
                 "bonferroni": "bonferroni", "by": "fdr_by",
                 "holm-sidak": "holm-sidak", "sidak": "sidak"}[method]  # fmt: skip
    _, expected, *_ = multipletests([m.effect.pvalue for m in family], method=reference)
    assert [m.adjusted_pvalue for m in family] == pytest.approx(
        list(expected), rel=1e-12
    )
    assert result.metric("reports").adjusted_pvalue is None  # guardrails stay outside
    assert result.correction == method


def test_flat_prior_credible_interval_equals_the_delta_interval(tmp_path):
    result = abkit.analyze(build(tmp_path, message_lift=0.05))
    messages = result.metric("messages")
    assert messages.bayes is not None
    # the delta-method interval of the relative lift, with the normal quantile
    from scipy import stats

    from abkit.analysis.decision import relative_standard_error

    se = relative_standard_error(messages.effect)
    z = stats.norm.ppf(0.975)
    assert messages.bayes.ci_lower == pytest.approx(
        messages.effect.relative - z * se, rel=1e-9
    )
    assert messages.bayes.ci_upper == pytest.approx(
        messages.effect.relative + z * se, rel=1e-9
    )


NET_METRICS = {
    "net_revenue": {"kind": "mean", "events": ["order"], "value": "value",
                    "window": {"end_day": 7}},
    "score_change": {"kind": "mean", "events": ["score"], "value": "value",
                     "window": {"end_day": 7}},
}  # fmt: skip


def build_negative(directory: Path, n: int = 400) -> Path:
    """Net revenue −10 per control unit, −5 per treated one; a flat negative guardrail."""
    rng = np.random.default_rng(13)
    users = np.arange(n)
    treated = users % 2 == 1
    exposed = T0 + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")
    net = np.where(treated, -5.0, -10.0) + rng.normal(0, 1, n)
    score = -20.0 + rng.normal(0, 1, n)
    events = pd.concat(
        [
            pd.DataFrame({"user_id": users, "event": "order", "value": net}),
            pd.DataFrame({"user_id": users, "event": "score", "value": score}),
        ],
        ignore_index=True,
    )
    events["ts"] = exposed[events["user_id"].to_numpy()] + pd.Timedelta(hours=1)
    later = {
        "user_id": [0],
        "event": ["session"],
        "value": [0.0],
        "ts": [T0 + pd.Timedelta(days=15)],
    }  # the data run past every window
    events = pd.concat([events, pd.DataFrame(later)], ignore_index=True)  # fmt: skip
    assignments = pd.DataFrame(
        {"user_id": users, "variant": np.where(treated, "treatment", "control"),
         "exposed_at": exposed}
    )  # fmt: skip
    return write_log(
        directory, assignments, events, NET_METRICS,
        {"control": 0.5, "treatment": 0.5}, name="net",
        decision={"primary": "net_revenue", "minimum_effect": 0.1,
                  "guardrails": {"score_change": {"margin": 0.05}}},
        bayesian={},
    )  # fmt: skip


def test_negative_baseline_every_consumer_agrees_with_the_difference(tmp_path):
    result = abkit.analyze(build_negative(tmp_path))
    net = result.metric("net_revenue")
    effect = net.effect
    assert effect.difference == pytest.approx(5.0, abs=0.3)
    assert effect.relative == pytest.approx(
        effect.difference / abs(effect.control.mean), rel=1e-12
    )
    assert effect.relative > 0.4  # was -0.5: the lift had the wrong sign
    assert net.verdict == "better"
    assert net.bayes is not None
    assert net.bayes.chance_to_win == pytest.approx(1.0)  # was 0
    guard = result.metric("score_change").guardrail
    assert guard is not None
    assert guard.status == "not_harmed"
    assert result.decision is not None
    assert result.decision.outcome == "ship", result.decision.reasons
    assert "raised net revenue by +" in result.decision.summary


def test_correction_and_exact_tests_are_set_in_exp_yaml_and_on_the_cli(tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from abkit.frontends.cli import app

    exp = build(tmp_path, message_lift=0.04, seed=5)
    data = yaml.safe_load(exp.read_text())
    data["decision"]["correction"] = "holm-sidak"
    data["proportions"] = {"exact_below": 1000, "exact_test": "fisher"}
    exp.write_text(yaml.safe_dump(data))
    result = abkit.analyze(exp)
    assert result.correction == "holm-sidak"
    reports = result.metric("reports").effect
    assert reports.test == "fisher-exact"  # every expected count is below 1000
    from scipy import stats

    x_c, x_t = (
        round(reports.control.mean * reports.control.n),
        round(reports.treatment.mean * reports.treatment.n),
    )
    table = [[x_t, reports.treatment.n - x_t], [x_c, reports.control.n - x_c]]
    assert reports.pvalue == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)
    shown = (
        "reports (treatment): p-value by Fisher's exact test (small expected counts)"
    )
    assert shown in str(result)
    from abkit.report.terminal import render

    assert "Fisher's exact test" in render(result, "markdown")
    output = CliRunner().invoke(app, ["analyze", str(exp), "--correction", "by",
                                      "-f", "json"])  # fmt: skip
    assert output.exit_code == 0, output.output
    assert json.loads(output.stdout)["correction"] == "by"
    wrong = CliRunner().invoke(
        app, ["analyze", str(exp), "--correction", "sidak-hochberg"]
    )
    assert wrong.exit_code == 2
    assert "holm-sidak" in wrong.stderr
