"""The YAML loader: reads exp.yaml and the metrics file it names, validates, resolves.

The only code that reads YAML. Every problem becomes a one-line `ConfigError` that
names the file, the key and the fix, e.g.
"exp.yaml: metrics[2] 'revnue' is not defined in metrics.yaml; did you mean 'revenue'?"
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError

from abkit.config.experiment import DataSources, Experiment, ExperimentFile, Source
from abkit.config.hints import describe_error, suggest
from abkit.config.metrics import Metric, MetricsFile
from abkit.config.safe_yaml import LimitError, load_strict
from abkit.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


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
                    suggest(name, list(spec.metrics)) or "; list it under metrics: too"
                )
                raise ConfigError(
                    f"{path.name}: decision names metric '{name}', which is not one of "
                    f"this experiment's metrics{hint}"
                )
    for index, name in enumerate(spec.cuped.covariates):
        if name not in spec.metrics:
            hint = suggest(name, list(spec.metrics)) or "; list it under metrics: too"
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
        data = load_strict(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        if isinstance(error, LimitError | ConstructorError):
            raise ConfigError(f"{path.name}:{where}: {problem}") from None
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
        raise ConfigError(describe_error(error, model, where)) from None


def _resolve_metric(
    name: str,
    index: int,
    catalogue: Mapping[str, Metric],
    exp_file: str,
    metrics_file: str,
) -> Metric:
    if name not in catalogue:
        hint = suggest(name, list(catalogue)) or f"; define it in {metrics_file}"
        raise ConfigError(
            f"{exp_file}: metrics[{index}] '{name}' is not defined in "
            f"{metrics_file}{hint}"
        )
    return catalogue[name]


def _resolve_control(spec: ExperimentFile, exp_file: str) -> str:
    names = list(spec.variants)
    control = spec.control or names[0]
    if control not in spec.variants:
        hint = suggest(control, names) or f"; variants are {', '.join(names)}"
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
    # the default zone leaves the hash as it was before time_zone existed, so
    # experiments locked then still match their registration
    default_zone = spec.time_zone == "UTC"
    digest.update(
        spec.model_dump_json(exclude={"time_zone"} if default_zone else None).encode()
    )
    return digest.hexdigest()[:12]
