"""Result objects of an analysis: plain frozen dataclasses that print well.

`str(result)` is a compact plain-text scorecard built here; the rich terminal,
Markdown, JSON and HTML renderings are the report stage's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from abkit.analysis.monitoring import MetricSeries, NoveltyPoint
from abkit.analysis.notes import computation_notes
from abkit.analysis.text import aligned, format_lift, format_pvalue, format_value
from abkit.config import SequentialSettings
from abkit.stats.bayes import BayesResult
from abkit.stats.cuped import CupedAdjustment
from abkit.stats.fieller import FiellerInterval
from abkit.stats.guardrail import GuardrailResult
from abkit.stats.srm import SequentialSrmResult, SrmResult
from abkit.stats.welch import STATUS_MESSAGES, EffectResult

if (
    TYPE_CHECKING
):  # pandas only for the notebook's frame, imported when one is asked for
    import pandas as pd

Verdict = Literal["better", "worse", "no_change", "invalid"]
CheckStatus = Literal["ok", "warning", "failed"]
Outcome = Literal["ship", "do_not_ship", "keep_running", "investigate"]
VERDICT_WORDS: dict[Verdict, str] = {
    "better": "better",
    "worse": "worse",
    "no_change": "no change",
    "invalid": "n/a",
}


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric, one treatment against the control."""

    metric: str
    kind: str
    direction: Literal["higher", "lower"]
    format: str
    variant: str
    effect: EffectResult
    description: str = ""
    segment: str | None = None
    segment_value: str | None = None
    cap: float | None = None
    cap_rule: str = ""
    cuped: CupedAdjustment | None = None
    unadjusted: EffectResult | None = None
    adjusted_pvalue: float | None = None
    adjusted_relative_ci_lower: float | None = None
    adjusted_relative_ci_upper: float | None = None
    guardrail: GuardrailResult | None = None
    bayes: BayesResult | None = None
    relative_ci_method: str = "delta"
    fieller: FiellerInterval | None = None
    note: str = ""

    @property
    def variance_reduction(self) -> float | None:
        """Share of the effect's variance CUPED removed (None without CUPED)."""
        if self.cuped is None or self.cuped.status != "ok":
            return None
        return self.cuped.variance_reduction

    @property
    def verdict(self) -> Verdict:
        """Better / worse (significant, in the metric's direction) or no change."""
        effect = self.effect
        if effect.status in ("too_few_units", "zero_variance") or math.isnan(
            effect.pvalue
        ):
            return "invalid"
        pvalue = (
            self.adjusted_pvalue if self.adjusted_pvalue is not None else effect.pvalue
        )
        if not pvalue < effect.alpha:
            return "no_change"
        improved = (effect.difference > 0) == (self.direction == "higher")
        return "better" if improved else "worse"

    @property
    def message(self) -> str:
        """Why a result is degenerate, in plain words ('' when fine)."""
        return STATUS_MESSAGES[self.effect.status]

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: metric fields, then the effect's."""
        head = {
            "metric": self.metric,
            "segment": self.segment,
            "segment_value": self.segment_value,
            "kind": self.kind,
            "direction": self.direction,
            "format": self.format,
            "variant": self.variant,
            "verdict": self.verdict,
        }
        extra: dict[str, Any] = {
            "message": self.message,
            "cap": self.cap,
            "cap_rule": self.cap_rule,
        }
        cuped = self.cuped
        extra |= {
            "cuped": cuped is not None and cuped.status == "ok",
            "cuped_status": cuped.status if cuped is not None else None,
            "cuped_coefficients": list(cuped.coefficients)
            if cuped is not None
            else None,
            "variance_reduction": self.variance_reduction,
        }
        extra |= {
            "adjusted_pvalue": self.adjusted_pvalue,
            "adjusted_relative_ci_lower": self.adjusted_relative_ci_lower,
            "adjusted_relative_ci_upper": self.adjusted_relative_ci_upper,
            "guardrail": self.guardrail.to_dict()
            if self.guardrail is not None
            else None,
            "bayes": self.bayes.to_dict() if self.bayes is not None else None,
            "relative_ci_method": self.relative_ci_method,
            "relative_ci_status": self.fieller.status if self.fieller else None,
            "fieller_lower": self.fieller.lower if self.fieller else None,
            "fieller_upper": self.fieller.upper if self.fieller else None,
            "note": self.note,
        }
        if self.unadjusted is not None:
            plain = self.unadjusted
            extra |= {
                "unadjusted_difference": plain.difference,
                "unadjusted_ci_lower": plain.ci_lower,
                "unadjusted_ci_upper": plain.ci_upper,
                "unadjusted_relative": plain.relative,
                "unadjusted_relative_ci_lower": plain.relative_ci_lower,
                "unadjusted_relative_ci_upper": plain.relative_ci_upper,
                "unadjusted_pvalue": plain.pvalue,
            }
        return head | self.effect.to_dict() | extra


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A data-quality check with a status and a plain-language message."""

    name: str
    status: CheckStatus
    message: str
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class SegmentSrm:
    """The sample-ratio test within one segment value."""

    segment: str
    value: str
    srm: SrmResult

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"segment": self.segment, "value": self.value} | self.srm.to_dict()


@dataclass(frozen=True, slots=True)
class TreatmentDecision:
    """The verdict for one treatment, with the reasons behind it."""

    variant: str
    outcome: Outcome
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """The experiment's decision: an outcome, one summary sentence, the reasons."""

    outcome: Outcome
    summary: str
    reasons: tuple[str, ...]
    correction: str
    treatments: tuple[TreatmentDecision, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything `abkit.analyze` found for one experiment.

    `to_frame()` gives the scorecard as a data frame, `to_dict()` the JSON payload,
    and `str()` a readable scorecard.
    """

    experiment: str
    title: str
    control: str
    variants: tuple[str, ...]
    alpha: float
    config_hash: str
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    units: dict[str, int]
    excluded_units: int
    srm: SrmResult
    health: tuple[HealthCheck, ...]
    metrics: tuple[MetricResult, ...]
    engine: str
    abkit_version: str
    segment_results: tuple[MetricResult, ...] = ()
    segment_srm: tuple[SegmentSrm, ...] = ()
    series: tuple[MetricSeries, ...] = ()
    sequential: SequentialSettings | None = None
    sequential_srm: SequentialSrmResult | None = None
    correction: str = "none"
    decision: DecisionResult | None = None
    novelty: tuple[NoveltyPoint, ...] = ()
    dialect: str = "duckdb"
    created_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc)
    )

    @property
    def healthy(self) -> bool:
        """No health check failed."""
        return all(check.status != "failed" for check in self.health)

    def metric(self, name: str, variant: str | None = None) -> MetricResult:
        """The result of one metric (for the first treatment unless `variant`)."""
        for result in self.metrics:
            if result.metric == name and (variant is None or result.variant == variant):
                return result
        raise KeyError(
            f"no result for metric {name!r}" + (f" / {variant!r}" if variant else "")
        )

    def series_for(
        self, metric: str, variant: str | None = None
    ) -> MetricSeries | None:
        """The daily series of one metric (first treatment unless `variant`)."""
        for series in self.series:
            if series.metric == metric and (
                variant is None or series.variant == variant
            ):
                return series
        return None

    def to_frame(self, *, segments: bool = False) -> pd.DataFrame:
        """The scorecard: one row per metric × treatment (× segment value if asked)."""
        import pandas as pd

        rows = self.segment_results if segments else self.metrics
        frame: pd.DataFrame = pd.DataFrame([r.to_dict() for r in rows])
        return frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (schema documented in docs/json-schema.md)."""
        return {
            "schema_version": 1,
            "experiment": self.experiment,
            "title": self.title,
            "control": self.control,
            "variants": list(self.variants),
            "alpha": self.alpha,
            "config_hash": self.config_hash,
            "window": {"start": _iso(self.window_start), "end": _iso(self.window_end)},
            "units": dict(self.units),
            "excluded_units": self.excluded_units,
            "srm": self.srm.to_dict(),
            "health": [check.to_dict() for check in self.health],
            "metrics": [r.to_dict() for r in self.metrics],
            "segments": [r.to_dict() for r in self.segment_results],
            "segment_srm": [s.to_dict() for s in self.segment_srm],
            "correction": self.correction,
            "decision": self.decision.to_dict() if self.decision is not None else None,
            "sequential": self.sequential.model_dump() if self.sequential else None,
            "sequential_srm": self.sequential_srm.to_dict()
            if self.sequential_srm
            else None,
            "series": [s.to_dict() for s in self.series],
            "novelty": [p.to_dict() for p in self.novelty],
            "engine": self.engine,
            "dialect": self.dialect,
            "abkit_version": self.abkit_version,
            "created_at": _iso(self.created_at),
        }

    def __str__(self) -> str:
        """A compact plain-text scorecard: decision, lifts per treatment, health."""
        return "\n".join(scorecard_lines(self)) + "\n"

    def _repr_markdown_(self) -> str:
        """Notebooks show the plain-text scorecard in a monospaced block."""
        return f"```text\n{self}```\n"


DESIGN_VERDICT_WORDS: dict[str, str] = {"not_yet": "keep running"}
DESIGN_VERDICT_WORDS.update((key, word) for key, word in VERDICT_WORDS.items())
"""`str(result)`'s words for `design_verdict`'s keys."""


def design_verdict(result: AnalysisResult, metric: MetricResult) -> str:
    """A metric's one verdict, from the design's test: a `Verdict` or "not_yet".

    With a sequential design the sequential test decides: better / worse once the
    boundary is crossed, "not_yet" while it has not and the planned units are not
    reached, "no_change" after. The fixed-horizon p-value and the Bayesian view are
    then secondary views. Segment rows keep the fixed-horizon verdict (exploratory).
    """
    settings = result.sequential
    if settings is None or metric.segment is not None or metric.verdict == "invalid":
        return metric.verdict
    series = result.series_for(metric.metric, metric.variant)
    look = series.current if series is not None else None
    if series is None or look is None:
        return metric.verdict
    if series.crossed:
        improved = (metric.effect.relative > 0) == (metric.direction == "higher")
        return "better" if improved else "worse"
    done = look.n_control + look.n_treatment >= settings.planned_units
    return "no_change" if done else "not_yet"


def scorecard_lines(result: AnalysisResult) -> list[str]:
    """The lines of `str(result)`."""
    window = f"{_day(result.window_start)} → {_day(result.window_end)}"
    lines = [f"{result.title}  ·  data {window}  ·  config {result.config_hash}"]
    if result.decision is not None:
        lines.append(f"Decision: {result.decision.summary}")
        lines += [f"  · {reason}" for reason in result.decision.reasons]
    level = f"{1 - result.alpha:.0%} CI"
    if any(m.fieller is not None for m in result.metrics):
        level += "; relative CI by Fieller's method"
    for variant in (v for v in result.variants if v != result.control):
        lines.append(f"{variant} vs {result.control} ({level})")
        rows = [["metric", "control", "treatment", "lift [CI]", "p-value", "verdict"]]
        rows += [_scorecard_row(m, design_verdict(result, m))
                 for m in result.metrics if m.variant == variant]  # fmt: skip
        lines += aligned(rows)
    lines += _guardrail_lines(result.metrics)
    lines += _note_lines(result.metrics)
    units = ", ".join(f"{v} {n:,}" for v, n in result.units.items())
    failed = "" if result.healthy else " (FAILED: do not trust the metrics)"
    lines.append(f"health{failed}: units {units}")
    lines += [f"  [{c.status}] {c.name}: {c.message}" for c in result.health]
    return lines


def _note_lines(metrics: tuple[MetricResult, ...]) -> list[str]:
    return [f"note: {text}" for text in metric_notes(metrics)]


def metric_notes(metrics: tuple[MetricResult, ...]) -> list[str]:
    """Footnotes of every rendering: caps (once each), degenerate results, methods."""
    notes, seen = [], set()
    for metric in metrics:
        if metric.cap is not None and metric.metric not in seen:
            seen.add(metric.metric)
            cap = format_value(metric.cap, metric.format)
            notes.append(f"{metric.metric}: values capped at {cap} ({metric.cap_rule})")
        if metric.message:
            notes.append(f"{metric.metric} ({metric.variant}): {metric.message}")
        notes += [
            f"{metric.metric} ({metric.variant}): {text}"
            for text in method_notes(metric)
        ]
    return notes


def method_notes(metric: MetricResult) -> list[str]:
    """How a result was computed when not by default (quantile, Fieller, exact test)."""
    return computation_notes(metric.note, metric.fieller, metric.effect.test)


def _guardrail_lines(metrics: tuple[MetricResult, ...]) -> list[str]:
    """Each guardrail's estimate against its margin and its status, one line each."""
    words = {"not_harmed": "shown safe", "harmed": "HARMED",
             "inconclusive": "not yet shown safe"}  # fmt: skip
    lines = []
    for metric in metrics:
        guard = metric.guardrail
        if guard is None:
            continue
        sign = -1 if guard.higher_is_better else 1
        relative = math.isclose(guard.estimate, metric.effect.relative)
        margin = (
            f"{sign * guard.margin:+.1%}" if relative else f"{sign * guard.margin:+.4g}"
        )
        estimate = (format_lift(guard.estimate, guard.ci_lower, guard.ci_upper)
                    if relative else f"{guard.estimate:+.4g}")  # fmt: skip
        lines.append(f"guardrail {metric.metric} ({metric.variant}): {estimate} vs "
                     f"margin {margin}: {words[guard.status]}")  # fmt: skip
    return lines


def _scorecard_row(result: MetricResult, verdict: str) -> list[str]:
    effect = result.effect
    pvalue = format_pvalue(
        effect.pvalue if result.adjusted_pvalue is None else result.adjusted_pvalue
    )
    spread = (effect.ci_upper - effect.ci_lower) / 2
    return [
        result.metric,
        format_value(effect.control.mean, result.format, spread),
        format_value(effect.treatment.mean, result.format, spread),
        format_lift(
            effect.relative, effect.relative_ci_lower, effect.relative_ci_upper
        ),
        pvalue if result.adjusted_pvalue is None else f"{pvalue} (adj.)",
        DESIGN_VERDICT_WORDS[verdict],
    ]


def _day(value: dt.datetime | None) -> str:
    return value.date().isoformat() if value is not None else "?"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
