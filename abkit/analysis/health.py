"""Health checks: can the numbers be trusted? Each gives a status and plain words.

Pure functions over the small frames the health queries return and the
sufficient statistics; no SQL here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from abkit.aggregates.moments import JointMoments
from abkit.aggregates.rows import Row, as_date
from abkit.analysis.results import CheckStatus, HealthCheck, SegmentSrm
from abkit.config import CalendarPrePeriod, Experiment
from abkit.stats.srm import SrmResult, srm_test
from abkit.stats.welch import ArmEstimate, welch_test

SRM_THRESHOLD = 0.001
"""SRM is flagged below this p-value by default (GrowthBook's; `health.srm_threshold`)."""

SRM_WARNING = 0.05
"""Below this p-value (and above the threshold) the split is worded as a warning."""

CONTAMINATION_WARNING = 0.05
"""Share of a treated arm's interactions that reach the control arm worth a warning."""


def srm_check(srm: SrmResult, warning: float = SRM_WARNING) -> HealthCheck:
    """Overall sample ratio mismatch: failed below the threshold, warning below `warning`."""
    if srm.status != "ok":
        return HealthCheck(
            "srm", "warning", f"SRM test not possible: {srm.status}", None
        )
    if srm.flagged:
        return HealthCheck(
            "srm",
            "failed",
            f"sample ratio mismatch: p = {srm.pvalue:.2g} < {srm.threshold}; the split "
            "differs from the plan, so every metric may be biased; find the cause first",
            srm.pvalue,
        )
    if srm.pvalue < warning:
        return HealthCheck(
            "srm",
            "warning",
            f"the split is borderline: p = {srm.pvalue:.2g}, above the SRM threshold "
            f"{srm.threshold:g} but below {warning:g}; check the assignment before "
            "trusting small effects",
            srm.pvalue,
        )
    return HealthCheck(
        "srm", "ok", f"split matches the plan (p = {srm.pvalue:.3g})", srm.pvalue
    )


def daily_srm_check(daily: Sequence[Row], experiment: Experiment) -> HealthCheck:
    """SRM on each exposure day, Bonferroni over days (rows: exposure_day, variant, n_units)."""
    weights = list(experiment.variants.values())
    by_day: dict[dt.date, list[Row]] = {}
    for row in daily:
        by_day.setdefault(as_date(row["exposure_day"]), []).append(row)
    days = sorted(by_day)
    if not days:
        return HealthCheck("srm_by_day", "ok", "no exposures to check", None)
    threshold = experiment.health.srm_threshold / len(days)
    flagged = []
    smallest = 1.0
    for day in days:
        counts = _counts(by_day[day], experiment)
        result = srm_test(counts, weights, threshold)
        if result.status == "ok":
            smallest = min(smallest, result.pvalue)
            if result.flagged:
                flagged.append(day.isoformat())
    if flagged:
        return HealthCheck(
            "srm_by_day",
            "failed",
            f"the split breaks on {', '.join(flagged)} (p < {threshold:.1g} each); look "
            "for a deploy or logging change on those days",
            smallest,
        )
    return HealthCheck(
        "srm_by_day",
        "ok",
        f"the split holds on each of {len(days)} exposure days",
        smallest,
    )


def segment_srm_check(segment_srm: Sequence[SegmentSrm]) -> HealthCheck:
    """SRM within each segment value, Bonferroni over segment values."""
    tested = [s for s in segment_srm if s.srm.status == "ok"]
    if not tested:
        return HealthCheck("srm_by_segment", "ok", "no segments configured", None)
    flagged = [f"{s.segment}={s.value}" for s in tested if s.srm.flagged]
    smallest = min(s.srm.pvalue for s in tested)
    if flagged:
        return HealthCheck(
            "srm_by_segment",
            "warning",
            f"the split differs from the plan within {', '.join(flagged)}; segment "
            "results there are unreliable",
            smallest,
        )
    return HealthCheck(
        "srm_by_segment",
        "ok",
        f"the split holds within each of {len(tested)} segment values",
        smallest,
    )


def segment_srm_threshold(n_tests: int, threshold: float = SRM_THRESHOLD) -> float:
    """Bonferroni threshold over the segment values tested."""
    return threshold / max(n_tests, 1)


def multiple_variants_check(health: Sequence[Row]) -> HealthCheck:
    """Units exposed to more than one variant (excluded from the analysis)."""
    total = sum(int(row["n_units"]) for row in health)
    multi = multi_variant_units(health)
    share = multi / total if total else 0.0
    status: CheckStatus = (
        "ok" if multi == 0 else ("warning" if share < 0.01 else "failed")
    )
    message = (
        f"{multi:,} units ({share:.2%}) were exposed to more than one variant and are "
        "excluded"
        if multi
        else "no unit was exposed to more than one variant"
    )
    return HealthCheck("multiple_variants", status, message, float(multi))


def unknown_variants_check(
    health: Sequence[Row], experiment: Experiment
) -> HealthCheck:
    """Units assigned to variants exp.yaml does not list."""
    unknown = [
        row for row in health
        if not row["multiple_variants"] and row["variant"] not in experiment.variants
    ]  # fmt: skip
    count = sum(int(row["n_units"]) for row in unknown)
    if not count:
        return HealthCheck(
            "unknown_variants",
            "ok",
            "every exposed unit is in a configured variant",
            0.0,
        )
    names = ", ".join(f"'{row['variant']}'" for row in unknown)
    return HealthCheck(
        "unknown_variants",
        "warning",
        f"{count:,} units are in variants not in exp.yaml ({names}) and are ignored; add "
        "them to variants: if they belong to this experiment",
        float(count),
    )


def pre_period_coverage_check(
    totals: Mapping[str, float],
    days: int,
    calendar: CalendarPrePeriod | None = None,
) -> HealthCheck:
    """Units without any pre-period event: CUPED uses 0 as their covariate."""
    units, missing = totals["n_units"], totals["units_without_pre_period"]
    share = missing / units if units else 0.0
    period = (
        f"the pre-period {calendar.start} to {calendar.end} (before their exposure)"
        if calendar is not None
        else f"the {days} days before exposure"
    )
    return HealthCheck(
        "pre_period_coverage",
        "ok",
        f"{int(missing):,} units ({share:.1%}) had no event in {period}; CUPED uses 0 "
        "for them (still unbiased, less variance reduction)",
        float(missing),
    )


def activity_checks(totals: Mapping[str, float]) -> tuple[HealthCheck, HealthCheck]:
    """Units without events after exposure; units active before their exposure."""
    units = totals["n_units"]
    silent = totals["units_without_events"]
    share = silent / units if units else math.nan
    status: CheckStatus = "warning" if share > 0.5 else "ok"
    no_events = HealthCheck(
        "units_without_events",
        status,
        f"{int(silent):,} exposed units ({share:.1%}) have no event after exposure; they "
        "count as zeros" + ("; check that events and assignments share unit ids"
                            if status == "warning" else ""),
        float(silent),
    )  # fmt: skip
    early = totals["units_with_events_before"]
    before = HealthCheck(
        "events_before_exposure",
        "ok",
        f"{int(early):,} units ({early / units if units else 0:.1%}) had events after the "
        "experiment began but before their own exposure; those events are not counted",
        float(early),
    )
    return no_events, before


def pre_period_balance_check(
    pre_moments: Mapping[str, Mapping[str, JointMoments]],
    experiment: Experiment,
    alpha: float = 0.05,
) -> HealthCheck:
    """Pre-period means compared across arms (Welch), Bonferroni over metric × arm."""
    control = pre_moments[experiment.control]
    tests = []
    for metric, joint in control.items():
        for variant in experiment.treatments:
            treated = pre_moments[variant][metric]
            result = welch_test(
                ArmEstimate.from_moments(joint.marginal("pre")),
                ArmEstimate.from_moments(treated.marginal("pre")),
            )
            if result.status == "ok":
                tests.append((metric, variant, result.pvalue))
    if not tests:
        return HealthCheck(
            "pre_period_balance", "ok", "no pre-period data to compare", None
        )
    threshold = alpha / len(tests)
    flagged = [f"{m} ({v}, p = {p:.2g})" for m, v, p in tests if p < threshold]
    smallest = min(p for _, _, p in tests)
    if flagged:
        return HealthCheck(
            "pre_period_balance",
            "warning",
            f"arms already differed before exposure in {', '.join(flagged)}; the "
            "randomization or exposure logging may be biased",
            smallest,
        )
    return HealthCheck(
        "pre_period_balance",
        "ok",
        f"arms were alike before exposure on all {len(tests)} metric × arm comparisons",
        smallest,
    )


def contamination_check(
    rows: Sequence[Row] | None, experiment: Experiment
) -> HealthCheck:
    """Share of each arm's interactions whose partner sits in another arm."""
    if not rows:
        return HealthCheck(
            "contamination",
            "ok",
            "no two-sided interactions to check (no partner_id)",
            None,
        )
    parts, worst = [], 0.0
    for variant in experiment.variants:
        own = [row for row in rows if row["variant"] == variant]
        total = float(sum(row["n_events"] for row in own))
        if not total:
            continue
        others = [row for row in own if row["partner_variant"] in experiment.variants
                  and row["partner_variant"] != variant]  # fmt: skip
        share = float(sum(row["n_events"] for row in others)) / total
        worst = max(worst, share)
        parts.append(f"{variant} {share:.1%}")
    events = "/".join(experiment.interaction_events)
    status: CheckStatus = "warning" if worst > CONTAMINATION_WARNING else "ok"
    advice = (
        "; effects may be diluted by spillover, consider cluster randomization"
        if status == "warning"
        else ""
    )
    return HealthCheck(
        "contamination",
        status,
        f"share of {events} with a partner in another arm: {', '.join(parts)}{advice}",
        worst,
    )


def multi_variant_units(health: Sequence[Row]) -> int:
    """Units exposed to more than one variant."""
    return sum(int(row["n_units"]) for row in health if row["multiple_variants"])


def _counts(rows: Sequence[Row], experiment: Experiment) -> list[int]:
    by_variant = {row["variant"]: row["n_units"] for row in rows}
    return [int(by_variant.get(v, 0)) for v in experiment.variants]
