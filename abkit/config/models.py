"""Experiment-as-code: pydantic models for exp.yaml and metrics.yaml.

This is the only module that reads YAML. Every problem becomes a one-line
`ConfigError` that names the file, the key and the fix, e.g.
"exp.yaml: metrics[2] 'revnue' is not defined in metrics.yaml; did you mean 'revenue'?"
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from abkit.errors import ConfigError

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]
MetricKind = Literal["mean", "proportion", "ratio", "retention"]
Aggregate = Literal["sum", "any", "active_days", "distinct_partners"]
Direction = Literal["higher", "lower"]
DisplayFormat = Literal["number", "count", "percent", "currency"]
CapSource = Literal["pre_period", "experiment"]
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- metrics.yaml


class Window(_Strict):
    """Days after a unit's exposure in which its events count: [start_day, end_day).

    A unit counts in a windowed metric only once its whole window lies inside the
    data (late entrants are censored, not counted as zeros).
    """

    start_day: int = Field(0, ge=0, description="first day counted (0 = exposure day)")
    end_day: int | None = Field(
        None,
        gt=0,
        description="first day no longer counted; None = until the data ends",
    )

    def model_post_init(self, __context: Any) -> None:
        """The window must not be empty."""
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(
                f"window end_day {self.end_day} must be after start_day {self.start_day}"
            )


class Measure(_Strict):
    """What is aggregated per unit: which events, which value, how.

    `sum` adds `value` (a count when value is 1); `any` is 1 if the unit had such an
    event; `active_days` counts distinct days (since exposure) with such an event;
    `distinct_partners` counts distinct partner ids (e.g. conversations started).
    """

    events: tuple[str, ...] = Field(min_length=1, description="event names that count")
    value: str = Field("1", description="SQL expression summed per unit")
    filter: str | None = Field(None, description="SQL boolean over event columns")
    aggregate: Aggregate = "sum"


class Winsorize(_Strict):
    """Cap each unit's value at a percentile computed in SQL over all exposed units.

    From the pre-period by default: a cap fixed before treatment cannot be moved by
    the treatment (STATS.md §9). `experiment` pools both arms' in-experiment values.
    """

    upper: float = Field(gt=0.5, lt=1.0, description="percentile, e.g. 0.99")
    source: CapSource = "pre_period"
    ignore_zeros: bool = Field(
        False,
        description="percentile over units with a non-zero value (e.g. over payers, when "
        "most units have no revenue and the plain percentile would be 0)",
    )


class Metric(_Strict):
    """A KPI computed per randomization unit from the event log.

    Kinds: `mean` (per-unit aggregate averaged over exposed units, zeros included),
    `proportion` (share of units with at least one matching event), `ratio`
    (Σ numerator / Σ denominator, delta method), `retention` (share of units active
    on day N, or on days N..M, after exposure, among units whose days are observed).
    """

    name: Identifier = Field(description="filled in from the metrics.yaml key")
    kind: MetricKind
    events: tuple[str, ...] | None = Field(None, min_length=1)
    value: str = Field("1", description="SQL expression summed per unit")
    filter: str | None = Field(None, description="SQL boolean over event columns")
    aggregate: Aggregate = "sum"
    numerator: Measure | None = None
    denominator: Measure | None = None
    days: tuple[int] | tuple[int, int] | None = Field(
        None, description="retention: [N] or [N, M] days after exposure"
    )
    window: Window = Window()
    winsorize: Winsorize | None = None
    cuped: bool = Field(True, description="adjust with the pre-period value (CUPED)")
    pre_period_days: int | None = Field(
        None, ge=1, le=365, description="pre-period length; default: the experiment's"
    )
    direction: Direction = "higher"
    format: DisplayFormat = "number"
    description: str = ""

    def model_post_init(self, __context: Any) -> None:
        """Each kind has the fields it needs and no others."""
        if self.kind == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError("a ratio metric needs numerator: and denominator:")
            if self.events is not None:
                raise ValueError(
                    "a ratio metric takes events inside numerator/denominator"
                )
        else:
            if self.events is None:
                raise ValueError(f"a {self.kind} metric needs events: [event names]")
            if self.numerator is not None or self.denominator is not None:
                raise ValueError("numerator/denominator are only for kind: ratio")
        if (self.kind == "retention") != (self.days is not None):
            raise ValueError(
                "days: [N] or [N, M] is required for, and only for, retention"
            )
        if self.days is not None and (
            min(self.days) < 0 or self.days[-1] < self.days[0]
        ):
            raise ValueError(
                f"retention days {list(self.days)} must be N or N <= M, >= 0"
            )
        if self.winsorize is not None and self.kind != "mean":
            raise ValueError("winsorize applies to kind: mean metrics only")
        if (
            self.winsorize
            and self.winsorize.source == "pre_period"
            and not self.span_days
        ):
            raise ValueError("winsorize from the pre-period needs window.end_day")

    @property
    def measures(self) -> dict[str, Measure]:
        """Per-unit measures by role: '' (the value or numerator) and 'den'."""
        if self.kind == "ratio":
            assert self.numerator is not None
            assert self.denominator is not None
            return {"": self.numerator, "den": self.denominator}
        assert self.events is not None
        aggregate = (
            "any" if self.kind in ("proportion", "retention") else self.aggregate
        )
        return {"": Measure(events=self.events, value=self.value, filter=self.filter,
                            aggregate=aggregate)}  # fmt: skip

    @property
    def effective_window(self) -> Window:
        """The day window, with retention days turned into one."""
        if self.days is not None:
            return Window(start_day=self.days[0], end_day=self.days[-1] + 1)
        return self.window

    @property
    def span_days(self) -> int | None:
        """Length of the window in days (None when open-ended)."""
        window = self.effective_window
        return None if window.end_day is None else window.end_day - window.start_day

    @property
    def is_binary(self) -> bool:
        """Per-unit values are 0/1 (proportion-type tests apply)."""
        return self.kind in ("proportion", "retention")


class CupedSettings(_Strict):
    """Variance reduction with pre-period data (STATS.md §3).

    Each metric is adjusted by its own pre-period value; `covariates` adds the
    pre-period values of other metrics and `unit_covariates` numeric or boolean unit
    attributes, turning CUPED into a multi-covariate regression ("CUPED++").
    """

    enabled: bool = True
    method: Literal["pooled", "lin"] = Field(
        "pooled", description="pooled θ (Deng et al.) or Lin's interacted θ"
    )
    covariates: tuple[Identifier, ...] = Field(
        (), description="metrics whose pre-period values join every mean metric's model"
    )
    unit_covariates: tuple[Identifier, ...] = Field(
        (), description="numeric or boolean columns of data.units used as covariates"
    )
    ridge: float = Field(0.0, ge=0, description="ridge penalty, scale-free (λ·diag)")


class SequentialSettings(_Strict):
    """Monitoring plan for daily looks (STATS.md §4); sequential tests use z.

    `gst`: group-sequential boundaries with Lan-DeMets alpha spending at the
    information fractions observed (units so far / planned_units).
    `always_valid`: asymptotic confidence sequences tuned to planned_units.
    `msprt`: mixture SPRT, identical to `always_valid` with τ² from planned_units.
    """

    method: Literal["gst", "always_valid", "msprt"]
    planned_units: int = Field(gt=0, description="units (all arms) at the final look")
    spending: Literal["obf", "pocock", "power"] = "obf"
    rho: float = Field(2.0, gt=0, description="exponent of the power spending family")


CorrectionMethod = Literal["holm", "hochberg", "bh", "bonferroni", "none"]


class GuardrailSettings(_Strict):
    """A metric that must not get worse by more than a non-inferiority margin."""

    margin: float = Field(gt=0, description="tolerated harm, e.g. 0.05")
    relative: bool = Field(
        True, description="margin as a relative lift (else absolute)"
    )


class BayesSettings(_Strict):
    """The optional Bayesian view: a normal model on the relative lift (STATS.md §8)."""

    enabled: bool = True
    prior_mean: float = 0.0
    prior_std: float | None = Field(None, gt=0, description="None: a flat prior")


class DecisionSettings(_Strict):
    """Decision rules written before launch (pre-registration).

    The correction family is the primary metric (unless excluded) and the secondary
    metrics, each against every treatment; guardrails are tested one-sided against
    their margins, outside the family.
    """

    primary: Identifier
    minimum_effect: float = Field(
        0.0, ge=0, description="smallest relative lift worth shipping"
    )
    secondary: tuple[Identifier, ...] = ()
    correction: CorrectionMethod = "holm"
    primary_in_family: bool = True
    primary_weight: float = Field(
        1.0, gt=0, description="Bonferroni/Holm weight of the primary in the family"
    )
    guardrails: dict[Identifier, GuardrailSettings] = Field(default_factory=dict)

    def metric_names(self) -> tuple[str, ...]:
        """Every metric the rules name."""
        return (self.primary, *self.secondary, *self.guardrails)


class MetricsFile(_Strict):
    """The shared metrics catalogue: metric definitions keyed by name."""

    metrics: dict[Identifier, dict[str, Any]]


# ---------------------------------------------------------------- exp.yaml


class Source(_Strict):
    """Where a table lives: a file (Parquet/CSV, glob allowed) or a table name."""

    path: str | None = None
    table: str | None = None

    def model_post_init(self, __context: Any) -> None:
        """Exactly one of path and table."""
        if (self.path is None) == (self.table is None):
            raise ValueError("give exactly one of 'path' or 'table'")


class AssignmentsSource(Source):
    """Assignment log: which unit saw which variant, and when."""

    unit_id: str = "unit_id"
    variant: str = "variant"
    timestamp: str = "timestamp"


class EventsSource(Source):
    """Event log: one row per event of a unit."""

    unit_id: str = "unit_id"
    timestamp: str = "timestamp"
    event: str = "event"
    value: str | None = "value"
    partner_id: str | None = None
    extra_columns: tuple[Identifier, ...] = Field(
        (), description="further event columns that metric expressions may use"
    )


class UnitsSource(Source):
    """Unit attributes (platform, country, ...) for segments."""

    unit_id: str = "unit_id"


class DataSources(_Strict):
    """The experiment's three tables and their column mapping."""

    assignments: AssignmentsSource
    events: EventsSource
    units: UnitsSource | None = None


class ExperimentFile(_Strict):
    """exp.yaml as written by the analyst."""

    name: Identifier
    title: str = ""
    owner: str = ""
    hypothesis: str = ""
    metrics_file: str = "metrics.yaml"
    data: DataSources
    variants: dict[str, float] = Field(
        min_length=2, description="variant -> planned share"
    )
    control: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    metrics: tuple[str, ...] = Field(min_length=1)
    segments: tuple[Identifier, ...] = Field(
        (),
        description="unit attributes (columns of data.units) to break results down by",
    )
    pre_period_days: int = Field(
        14, ge=1, le=365, description="days before exposure used as the pre-period"
    )
    interaction_events: tuple[str, ...] = Field(
        ("match", "message"),
        description="two-sided events whose partner may sit in another arm",
    )
    alpha: float = Field(0.05, gt=0, lt=0.5)
    cuped: CupedSettings = CupedSettings()
    sequential: SequentialSettings | None = None
    decision: DecisionSettings | None = None
    bayesian: BayesSettings | None = None

    def model_post_init(self, __context: Any) -> None:
        """Segments and unit covariates need a units table."""
        if self.segments and self.data.units is None:
            raise ValueError("segments need data.units (the table of unit attributes)")
        if self.cuped.unit_covariates and self.data.units is None:
            raise ValueError("cuped.unit_covariates need data.units")

    @field_validator("variants")
    @classmethod
    def _positive_weights(cls, variants: dict[str, float]) -> dict[str, float]:
        for name, weight in variants.items():
            if not weight > 0:
                raise ValueError(
                    f"variant '{name}' has share {weight}; shares must be > 0"
                )
        return variants


# ---------------------------------------------------------------- resolved


class Experiment(ExperimentFile):
    """A validated experiment: metrics resolved, control chosen, paths absolute."""

    metrics: tuple[Metric, ...]  # type: ignore[assignment]
    control: str
    path: Path | None = None
    config_hash: str

    @property
    def treatments(self) -> tuple[str, ...]:
        """Every non-control variant, in file order."""
        return tuple(v for v in self.variants if v != self.control)

    def metric(self, name: str) -> Metric:
        """A metric of this experiment by name."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise ConfigError(
            f"{self.name}: no metric '{name}'{_suggest(name, self.metric_names)}"
        )

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of the experiment's metrics in order."""
        return tuple(m.name for m in self.metrics)

    def with_end(self, end: dt.date | None) -> Experiment:
        """The same experiment analysed only up to `end` (exclusive)."""
        return self.model_copy(update={"end": end})


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and resolve exp.yaml and the metrics file it names.

    Raises:
        ConfigError: the file is missing or malformed, with the key and the fix.
    """
    path = Path(path)
    raw = _read_yaml(path)
    spec = _validate(ExperimentFile, raw, path.name)
    metrics_path = (path.parent / spec.metrics_file).resolve()
    catalogue = load_metrics(metrics_path)
    metrics = tuple(
        _resolve_metric(name, i, catalogue, path.name, metrics_path.name)
        for i, name in enumerate(spec.metrics)
    )
    control = _resolve_control(spec, path.name)
    if spec.decision is not None:
        for name in spec.decision.metric_names():
            if name not in spec.metrics:
                hint = (
                    _suggest(name, list(spec.metrics)) or "; list it under metrics: too"
                )
                raise ConfigError(
                    f"{path.name}: decision names metric '{name}', which is not one of "
                    f"this experiment's metrics{hint}"
                )
    for index, name in enumerate(spec.cuped.covariates):
        if name not in spec.metrics:
            hint = _suggest(name, list(spec.metrics)) or "; list it under metrics: too"
            raise ConfigError(
                f"{path.name}: cuped.covariates[{index}] '{name}' is not one of this "
                f"experiment's metrics{hint}"
            )
    digest = _config_hash(path.read_bytes(), metrics, spec)
    return Experiment(
        **spec.model_dump(exclude={"title", "data", "metrics", "control"}),
        title=spec.title or spec.name,
        data=_absolute_sources(spec.data, path.parent.resolve()),
        metrics=metrics,
        control=control,
        path=path.resolve(),
        config_hash=digest,
    )


def load_metrics(path: Path) -> dict[str, Metric]:
    """Read and validate a metrics catalogue file."""
    raw = _read_yaml(path)
    catalogue = _validate(MetricsFile, raw, path.name)
    return {
        name: _validate(Metric, {"name": name, **body}, f"{path.name}: metrics.{name}")
        for name, body in catalogue.metrics.items()
    }


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            f"{path}: file not found; check the path (relative paths are "
            "resolved from the current directory)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(
            f"{path.name}:{where}: malformed YAML ({problem}); fix the "
            "indentation or quoting there"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not UTF-8 text; save it as UTF-8") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path.name}: expected a mapping of keys at the top level, "
            f"got {type(data).__name__}; see data/examples/{path.name}"
        )
    return data


def _validate(model: type[M], data: Mapping[str, Any], where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, model, where)) from None


def _describe(error: ValidationError, model: type[BaseModel], where: str) -> str:
    """The first pydantic error as one line: where, what, and the fix."""
    first = error.errors()[0]
    location = _location(first["loc"])
    prefix = f"{where}: {location}" if location else where
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        allowed = _allowed_keys(model, first["loc"][:-1])
        hint = _suggest(key, allowed) or f"; allowed keys: {', '.join(sorted(allowed))}"
        return f"{where}: unknown key '{location}'{hint}"
    if first["type"] == "missing":
        return f"{prefix}: required key is missing; add it"
    message = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    shown = (
        f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
    )
    return f"{prefix}: {message}{shown}"


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if text else str(part))
        )
    return text


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field else None
        current = _model_in(annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [k for k in current.model_fields if k != "name" or current is not Metric]
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _resolve_metric(
    name: str,
    index: int,
    catalogue: Mapping[str, Metric],
    exp_file: str,
    metrics_file: str,
) -> Metric:
    if name not in catalogue:
        hint = _suggest(name, list(catalogue)) or f"; define it in {metrics_file}"
        raise ConfigError(
            f"{exp_file}: metrics[{index}] '{name}' is not defined in "
            f"{metrics_file}{hint}"
        )
    return catalogue[name]


def _resolve_control(spec: ExperimentFile, exp_file: str) -> str:
    names = list(spec.variants)
    control = spec.control or names[0]
    if control not in spec.variants:
        hint = _suggest(control, names) or f"; variants are {', '.join(names)}"
        raise ConfigError(
            f"{exp_file}: control '{control}' is not one of the variants{hint}"
        )
    return control


def _absolute_sources(data: DataSources, base: Path) -> DataSources:
    def fix(source: Source | None) -> Source | None:
        if source is None or source.path is None or re.match(r"^\w+://", source.path):
            return source
        return source.model_copy(update={"path": str((base / source.path).resolve())})

    return DataSources(
        assignments=fix(data.assignments),
        events=fix(data.events),
        units=fix(data.units),
    )


def _config_hash(
    exp_bytes: bytes, metrics: Sequence[Metric], spec: ExperimentFile
) -> str:
    """A short, stable hash of what defines the analysis (exp.yaml + used metrics)."""
    digest = hashlib.sha256(exp_bytes)
    for metric in metrics:
        digest.update(metric.model_dump_json().encode())
    digest.update(spec.model_dump_json().encode())
    return digest.hexdigest()[:12]
