"""Bayesian view of an effect estimate: normal prior, normal likelihood (STATS.md §8).

GrowthBook-style: the likelihood is Δ̂ ~ N(Δ, σ̂²) with Δ̂ and σ̂ from any
frequentist estimator (relative lift by default, absolute, CUPED or ratio all
work), the prior is Δ ~ N(μ₀, σ₀²), flat by default (σ₀ = ∞). From the
posterior come a credible interval, the chance to beat control and the expected
loss (risk) of shipping and of not shipping, all in closed form.

Not error-controlled under optional stopping: peeking at the chance to win is
not a sequential test (STATS.md §8; GB sequential testing is frequentist only).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from abkit.stats.distributions import normal_isf

BayesStatus = Literal["ok", "invalid_estimate"]
PROPER_PRIOR_STD = 0.3  # GB's default proper prior on the relative lift, N(0, 0.3²)


@dataclass(frozen=True, slots=True)
class BayesResult:
    """Posterior of an effect and the decision quantities derived from it.

    Attributes:
        estimate: the effect estimate Δ̂ (the likelihood's mean).
        standard_error: its standard error σ̂.
        prior_mean: μ₀.
        prior_std: σ₀ (inf for the flat prior).
        posterior_mean: μ_post.
        posterior_std: σ_post.
        ci_lower: lower end of the equal-tailed 1 − alpha credible interval.
        ci_upper: upper end.
        chance_to_win: posterior probability that treatment is better (Δ > 0, or
            Δ < 0 when lower is better).
        risk_treatment: expected loss of shipping treatment, E[max(−G, 0)] with
            G the gain (Δ, or −Δ when lower is better), on the effect's scale.
        risk_control: expected loss of keeping control, E[max(G, 0)].
        alpha: 1 − the credible level.
        higher_is_better: the metric's direction.
        status: "ok", or "invalid_estimate" (non-finite estimate or SE not > 0);
            then every posterior field is NaN.
    """

    estimate: float
    standard_error: float
    prior_mean: float
    prior_std: float
    posterior_mean: float
    posterior_std: float
    ci_lower: float
    ci_upper: float
    chance_to_win: float
    risk_treatment: float
    risk_control: float
    alpha: float
    higher_is_better: bool
    status: BayesStatus

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and data frames."""
        return asdict(self)

    def __str__(self) -> str:
        level = 100 * (1 - self.alpha)
        return (
            f"posterior {self.posterior_mean:.4g} ± {self.posterior_std:.3g}, "
            f"{level:g}% credible [{self.ci_lower:.4g}, {self.ci_upper:.4g}], "
            f"chance to win {self.chance_to_win:.1%}, risk ship "
            f"{self.risk_treatment:.3g} / keep {self.risk_control:.3g}"
        )


def bayesian_test(
    estimate: float,
    standard_error: float,
    *,
    prior_mean: float = 0.0,
    prior_std: float = math.inf,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> BayesResult:
    """Normal–normal posterior of an effect with chance to win and risk (STATS.md §8).

    Posterior precision 1/σ²_post = 1/σ̂² + 1/σ₀² and mean
    μ_post = (Δ̂/σ̂² + μ₀/σ₀²)·σ²_post (GB details.mdx eq. 5–6); with the flat
    prior the posterior is N(Δ̂, σ̂²), so the credible interval equals the z
    confidence interval and the chance to win is 1 − the one-sided p-value.

    The prior is on the scale of the estimate. GB puts it on the relative lift;
    for an absolute effect rescale it with `absolute_prior`.

    Args:
        estimate: the effect estimate Δ̂ (relative lift or absolute difference).
        standard_error: its standard error σ̂ (delta method for a lift).
        prior_mean: μ₀.
        prior_std: σ₀ > 0; inf (default) for the improper flat prior. GB's
            proper default is N(0, 0.3²) on the lift (`PROPER_PRIOR_STD`).
        alpha: 1 − the credible level (0.05 gives the 2.5%/97.5% quantiles).
        higher_is_better: False flips the chance to win and the risks.

    Returns:
        The posterior, credible interval, chance to win and risks.

    Raises:
        ValueError: prior_std not > 0, or alpha not in (0, 1).
    """
    if not prior_std > 0:
        raise ValueError(
            f"prior_std == {prior_std}; must be > 0 (inf for a flat prior)"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha == {alpha}; must be in (0, 1)")
    if not (
        math.isfinite(estimate) and math.isfinite(standard_error) and standard_error > 0
    ):
        nan = math.nan
        return BayesResult(
            estimate, standard_error, prior_mean, prior_std, nan, nan, nan, nan,
            nan, nan, nan, alpha, higher_is_better, "invalid_estimate",
        )  # fmt: skip
    mean, std = posterior_normal(estimate, standard_error, prior_mean, prior_std)
    half = normal_isf(alpha / 2) * std
    gain = mean if higher_is_better else -mean
    risk_treatment, risk_control = expected_losses(gain, std)
    return BayesResult(
        estimate=estimate,
        standard_error=standard_error,
        prior_mean=prior_mean,
        prior_std=prior_std,
        posterior_mean=mean,
        posterior_std=std,
        ci_lower=mean - half,
        ci_upper=mean + half,
        chance_to_win=chance_to_win(mean, std, higher_is_better=higher_is_better),
        risk_treatment=risk_treatment,
        risk_control=risk_control,
        alpha=alpha,
        higher_is_better=higher_is_better,
        status="ok",
    )


def posterior_normal(
    estimate: float, standard_error: float, prior_mean: float, prior_std: float
) -> tuple[float, float]:
    """Conjugate normal update: (μ_post, σ_post) (STATS.md §8; GB details.mdx eq. 5–6).

    Args:
        estimate: likelihood mean Δ̂.
        standard_error: likelihood standard deviation σ̂ > 0.
        prior_mean: μ₀.
        prior_std: σ₀ > 0, inf for the flat prior.

    Returns:
        Posterior mean and standard deviation, computed through the data's weight
        w = σ₀²/(σ̂² + σ₀²) (μ_post = w·Δ̂ + (1 − w)·μ₀, σ_post = σ̂·√w) so that
        no square overflows.
    """
    if math.isinf(prior_std):
        return estimate, standard_error
    ratio = standard_error / prior_std
    weight = 1 / (1 + ratio * ratio)  # on the data: σ₀²/(σ̂² + σ₀²), never overflows
    mean = weight * estimate + (1 - weight) * prior_mean
    return mean, standard_error * math.sqrt(weight)


def chance_to_win(mean: float, std: float, *, higher_is_better: bool = True) -> float:
    """P(treatment better) = 1 − Φ(0; μ, σ), flipped when lower is better (GB).

    STATS.md §8; GB bayesian/tests.py `chance_to_win`.
    """
    if not std > 0:  # a point mass (σ_post underflowed): the sign decides
        gain = mean if higher_is_better else -mean
        return 1.0 if gain > 0 else 0.0 if gain < 0 else 0.5
    z = mean / std
    return _normal_cdf(z if higher_is_better else -z)


def expected_losses(gain_mean: float, std: float) -> tuple[float, float]:
    """Expected loss of shipping and of not shipping for a gain G ~ N(μ, σ²).

    risk of shipping = E[max(−G, 0)] = σφ(μ/σ) − μΦ(−μ/σ), risk of keeping
    control = E[max(G, 0)] = σφ(μ/σ) + μΦ(μ/σ) (STATS.md §8, closed forms of GB
    `get_risk`'s truncated-normal means). Their difference is E[G] = μ.

    Args:
        gain_mean: posterior mean of the gain (Δ, or −Δ when lower is better).
        std: posterior standard deviation.

    Returns:
        (risk_treatment, risk_control).
    """
    if not std > 0:  # a point mass: the loss is the gain itself
        return max(-gain_mean, 0.0), max(gain_mean, 0.0)
    z = gain_mean / std
    density = std * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    risk_treatment = density - gain_mean * _normal_cdf(-z)
    risk_control = density + gain_mean * _normal_cdf(z)
    return risk_treatment, risk_control


def _normal_cdf(z: float) -> float:
    """Φ(z) in plain floats (no numpy overflow warnings at |z| → ∞)."""
    return 0.5 * math.erfc(-z / math.sqrt(2))


def absolute_prior(
    prior_mean: float, prior_std: float, control_mean: float
) -> tuple[float, float]:
    """Rescale a prior on the relative lift to the absolute effect's scale.

    μ₀·|ȳ_C| and σ₀·|ȳ_C| (STATS.md §8; GB bayesian/tests.py).

    Args:
        prior_mean: μ₀ on the lift.
        prior_std: σ₀ on the lift (inf stays inf).
        control_mean: ȳ_C.

    Returns:
        (prior_mean, prior_std) for the absolute difference.

    Raises:
        ValueError: control_mean is 0 or not finite (no scale to convert with).
    """
    if not (math.isfinite(control_mean) and control_mean != 0):
        raise ValueError(
            f"control_mean == {control_mean}; a prior on the lift needs a finite "
            "non-zero control mean to rescale, or put the prior on the absolute scale"
        )
    scale = abs(control_mean)
    return prior_mean * scale, prior_std * scale
