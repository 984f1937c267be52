"""Decision rules: multiple testing, guardrails, the Bayesian view and the verdict.

Evaluates the rules pre-registered in exp.yaml (`decision:`) on an analysis and
returns the result with corrected p-values and a decision in plain words: ship, do
not ship, keep running, or investigate data quality (STATS.md §6–8).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from abkit.analysis.monitoring import MetricSeries
from abkit.analysis.results import (
    AnalysisResult,
    DecisionResult,
    MetricResult,
    Outcome,
    TreatmentDecision,
)
from abkit.config import CorrectionMethod, DecisionSettings, Experiment
from abkit.stats.bayes import bayesian_test
from abkit.stats.guardrail import guardrail_test
from abkit.stats.multiple import adjusted_ci, correct_pvalues
from abkit.stats.welch import EffectResult, critical_value

OUTCOME_WORDS: dict[Outcome, str] = {
    "ship": "ship",
    "do_not_ship": "do not ship",
    "keep_running": "keep running",
    "investigate": "investigate data quality before deciding",
}


def relative_standard_error(effect: EffectResult) -> float:
    """SE of the relative lift, backed out of its delta-method interval."""
    quantile = critical_value(effect.alpha, effect.df)
    return (effect.relative_ci_upper - effect.relative) / quantile


def apply_decision_rules(
    result: AnalysisResult,
    experiment: Experiment,
    correction: CorrectionMethod | None = None,
) -> AnalysisResult:
    """The analysis with corrected p-values, guardrails, Bayes and the decision."""
    rules = experiment.decision
    method = correction or (rules.correction if rules else "none")
    metrics = correct_family(result.metrics, experiment, method)
    metrics = tuple(_with_guardrail(m, rules, experiment.alpha) for m in metrics)
    if experiment.bayesian is not None and experiment.bayesian.enabled:
        metrics = tuple(_with_bayes(m, experiment) for m in metrics)
    updated = dataclasses.replace(result, metrics=metrics, correction=method)
    if rules is None:
        return updated
    return dataclasses.replace(
        updated, decision=decide(updated, experiment, rules, method)
    )


def family_members(experiment: Experiment) -> tuple[str, ...]:
    """Metrics in the correction family: primary (unless excluded) and secondary."""
    rules = experiment.decision
    if rules is None:
        return ()
    primary = (rules.primary,) if rules.primary_in_family else ()
    return (*primary, *rules.secondary)


def correct_family(
    metrics: Sequence[MetricResult], experiment: Experiment, method: CorrectionMethod
) -> tuple[MetricResult, ...]:
    """Adjusted p-values and matching adjusted CIs over the family × treatments."""
    members = family_members(experiment)
    in_family = [i for i, m in enumerate(metrics) if m.metric in members]
    if not in_family:
        return tuple(metrics)
    rules = experiment.decision
    assert rules is not None
    weights = None
    if method in ("holm", "bonferroni") and rules.primary_weight != 1.0:
        weights = [rules.primary_weight if metrics[i].metric == rules.primary else 1.0
                   for i in in_family]  # fmt: skip
    corrected = correct_pvalues(
        [metrics[i].effect.pvalue for i in in_family], method, experiment.alpha,
        weights=weights,
    )  # fmt: skip
    updated = list(metrics)
    for position, i in enumerate(in_family):
        effect, level = metrics[i].effect, corrected.levels[position]
        low, high = (
            adjusted_ci(
                effect.relative, relative_standard_error(effect), level, df=effect.df
            )
            if not math.isnan(level)
            else (math.nan, math.nan)
        )
        updated[i] = dataclasses.replace(
            metrics[i],
            adjusted_pvalue=corrected.adjusted[position],
            adjusted_relative_ci_lower=low,
            adjusted_relative_ci_upper=high,
        )
    return tuple(updated)


def _with_guardrail(
    metric: MetricResult, rules: DecisionSettings | None, alpha: float
) -> MetricResult:
    if rules is None or metric.metric not in rules.guardrails:
        return metric
    spec, effect = rules.guardrails[metric.metric], metric.effect
    if spec.relative:
        estimate, error = effect.relative, relative_standard_error(effect)
    else:
        estimate, error = effect.difference, effect.standard_error
    test = guardrail_test(
        estimate, error, spec.margin, alpha=alpha,
        higher_is_better=metric.direction == "higher", df=effect.df,
    )  # fmt: skip
    return dataclasses.replace(metric, guardrail=test)


def _with_bayes(metric: MetricResult, experiment: Experiment) -> MetricResult:
    settings = experiment.bayesian
    assert settings is not None
    effect = metric.effect
    view = bayesian_test(
        effect.relative,
        relative_standard_error(effect),
        prior_mean=settings.prior_mean,
        prior_std=settings.prior_std if settings.prior_std is not None else math.inf,
        alpha=experiment.alpha,
        higher_is_better=metric.direction == "higher",
    )
    return dataclasses.replace(metric, bayes=view)


def decide(
    result: AnalysisResult,
    experiment: Experiment,
    rules: DecisionSettings,
    correction: str,
) -> DecisionResult:
    """Evaluate the pre-registered rules: investigate, ship, do not ship, keep running."""
    failed = [check for check in result.health if check.status == "failed"]
    per_treatment = tuple(
        _treatment_decision(result, experiment, rules, variant)
        for variant in experiment.treatments
    )
    if failed:
        reasons = tuple(f"health check {c.name} failed: {c.message}" for c in failed)
        outcome: Outcome = "investigate"
    else:
        outcome = _overall(per_treatment)
        reasons = tuple(r for d in per_treatment for r in d.reasons)
    summary = _summary(result, rules, outcome, per_treatment)
    return DecisionResult(outcome, summary, reasons, correction, per_treatment)


def _overall(decisions: Sequence[TreatmentDecision]) -> Outcome:
    outcomes = {d.outcome for d in decisions}
    for outcome in ("ship", "keep_running"):
        if outcome in outcomes:
            return outcome
    return "do_not_ship"


def _treatment_decision(  # noqa: PLR0911 (the rules read best as early returns)
    result: AnalysisResult,
    experiment: Experiment,
    rules: DecisionSettings,
    variant: str,
) -> TreatmentDecision:
    primary = result.metric(rules.primary, variant)
    reasons: list[str] = []
    harmed, unsure = [], []
    for name in rules.guardrails:
        guard = result.metric(name, variant).guardrail
        if guard is not None and guard.status == "harmed":
            harmed.append(name)
        elif guard is not None and guard.status == "inconclusive":
            unsure.append(name)
    if harmed:
        reasons.append(
            f"{variant}: guardrail harmed beyond its margin: {', '.join(harmed)}"
        )
        return TreatmentDecision(variant, "do_not_ship", tuple(reasons))
    significant, finished, why = _primary_evidence(result, experiment, primary)
    reasons.append(f"{variant}: {why}")
    better = (primary.effect.difference > 0) == (primary.direction == "higher")
    lift = (
        primary.effect.relative
        if primary.direction == "higher"
        else -primary.effect.relative
    )
    if significant and not better:
        reasons.append(f"{variant}: {rules.primary} got significantly worse")
        return TreatmentDecision(variant, "do_not_ship", tuple(reasons))
    if significant and lift < rules.minimum_effect:
        reasons.append(
            f"{variant}: the lift is real but below the minimum effect of interest "
            f"({rules.minimum_effect:+.1%})"
        )
        return TreatmentDecision(variant, "do_not_ship", tuple(reasons))
    if significant:
        if unsure:
            reasons.append(
                f"{variant}: guardrails not yet shown safe: {', '.join(unsure)}"
            )
            return TreatmentDecision(variant, "keep_running", tuple(reasons))
        reasons.append(f"{variant}: no guardrail harmed")
        return TreatmentDecision(variant, "ship", tuple(reasons))
    if finished or _rules_out_minimum(primary, rules.minimum_effect):
        reasons.append(
            f"{variant}: no effect of at least {rules.minimum_effect:+.1%} was detected"
        )
        return TreatmentDecision(variant, "do_not_ship", tuple(reasons))
    reasons.append(f"{variant}: not enough evidence yet; keep collecting data")
    return TreatmentDecision(variant, "keep_running", tuple(reasons))


def _primary_evidence(
    result: AnalysisResult, experiment: Experiment, primary: MetricResult
) -> tuple[bool, bool, str]:
    """(significant, planned sample reached, explanation) for the primary metric."""
    if experiment.sequential is None:
        pvalue = primary.adjusted_pvalue if primary.adjusted_pvalue is not None else (
            primary.effect.pvalue
        )  # fmt: skip
        significant = bool(pvalue < experiment.alpha)
        word = "significant" if significant else "not significant"
        return (
            significant,
            False,
            f"{primary.metric} {word} (p = {pvalue:.3g}, fixed horizon)",
        )
    series = result.series_for(primary.metric, primary.variant)
    look = series.current if series is not None else None
    if series is None or look is None:
        return False, False, f"{primary.metric}: no sequential look yet"
    information = (look.n_control + look.n_treatment) / _planned(
        experiment, primary.variant
    )
    finished = information >= 1.0
    return series.crossed, finished, _sequential_words(series, information)


def _planned(experiment: Experiment, variant: str) -> float:
    assert experiment.sequential is not None
    weights = experiment.variants
    share = (weights[experiment.control] + weights[variant]) / sum(weights.values())
    return experiment.sequential.planned_units * share


def _sequential_words(series: MetricSeries, information: float) -> str:
    if series.crossed and series.crossing_day is not None:
        day = series.crossing_day.isoformat()
        return (f"{series.metric} crossed its sequential boundary on {day} "
                f"({information:.0%} of planned units)")  # fmt: skip
    return (f"{series.metric} has not crossed its sequential boundary "
            f"({information:.0%} of planned units)")  # fmt: skip


def _rules_out_minimum(primary: MetricResult, minimum_effect: float) -> bool:
    """The CI excludes every lift at least as large as the minimum effect."""
    effect = primary.effect
    if primary.direction == "higher":
        return bool(effect.relative_ci_upper < minimum_effect)
    return bool(-effect.relative_ci_lower < minimum_effect)


def _summary(
    result: AnalysisResult,
    rules: DecisionSettings,
    outcome: Outcome,
    decisions: Sequence[TreatmentDecision],
) -> str:
    """One sentence a PM can read aloud."""
    variant = next(
        (d.variant for d in decisions if d.outcome == outcome), decisions[0].variant
    )
    primary = result.metric(rules.primary, variant)
    effect = primary.effect
    level = f"{1 - result.alpha:.0%}"
    moved = "raised" if effect.relative > 0 else "lowered"
    if primary.verdict == "no_change":
        moved = "did not detectably change"
    label = rules.primary.replace("_", " ")
    interval = (
        f"{level} CI {effect.relative_ci_lower:+.1%} to {effect.relative_ci_upper:+.1%}"
    )
    change = (
        f"{variant.capitalize()} {moved} {label} by {effect.relative:+.1%} ({interval})"
        if primary.verdict != "no_change"
        else f"{variant.capitalize()} {moved} {label} ({effect.relative:+.1%}, {interval})"
    )
    return f"{change}; {_guardrail_words(result, rules, variant)}; " + (
        f"recommendation: {OUTCOME_WORDS[outcome]}"
    )


def _guardrail_words(
    result: AnalysisResult, rules: DecisionSettings, variant: str
) -> str:
    """The guardrails in the headline: harmed, not yet shown safe, or all safe."""
    status = {name: g.status for name in rules.guardrails
              if (g := result.metric(name, variant).guardrail) is not None}  # fmt: skip
    harmed = [name for name, s in status.items() if s == "harmed"]
    unsure = [name for name, s in status.items() if s == "inconclusive"]
    if harmed:
        return f"guardrail harmed: {', '.join(harmed)}"
    if unsure:
        return f"guardrails not yet shown safe: {', '.join(unsure)}"
    return "no guardrail harmed" if rules.guardrails else "no guardrails set"
