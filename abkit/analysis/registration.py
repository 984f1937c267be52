"""Pre-registration: lock exp.yaml's hash before launch, warn when it changes after.

`abkit lock exp.yaml` writes `exp.yaml.lock` beside it (the config hash covers
exp.yaml and every metric definition it uses). Each analysis compares the current
hash with the lock, so a metric redefined after the results came in is visible.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from abkit.analysis.results import HealthCheck
from abkit.config import Experiment
from abkit.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Registration:
    """What was locked, when, by which abkit."""

    config_hash: str
    locked_at: str
    abkit_version: str


def lock_path(experiment: Experiment) -> Path:
    """The lock file beside exp.yaml."""
    if experiment.path is None:
        raise ConfigError(f"{experiment.name}: an experiment without a file cannot be "
                          "locked; load it from its exp.yaml")  # fmt: skip
    return experiment.path.with_name(experiment.path.name + ".lock")


def read_registration(experiment: Experiment) -> Registration | None:
    """The lock of an experiment, or None if it was never locked."""
    if experiment.path is None:
        return None
    path = lock_path(experiment)
    if not path.is_file():
        return None
    try:
        return Registration(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        raise ConfigError(f"{path.name}: not a valid abkit lock file; delete it and run "
                          "`abkit lock` again") from None  # fmt: skip


def write_registration(
    experiment: Experiment, abkit_version: str, *, force: bool = False
) -> Registration:
    """Lock the experiment's current configuration (atomically; never silently twice)."""
    path = lock_path(experiment)
    existing = read_registration(experiment)
    if existing is not None and not force:
        raise ConfigError(f"{path.name}: already locked on {existing.locked_at} (hash "
                          f"{existing.config_hash}); pass --force to re-register")  # fmt: skip
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    registration = Registration(experiment.config_hash, now, abkit_version)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(asdict(registration), indent=2), encoding="utf-8")
    os.replace(temporary, path)
    return registration


def registration_check(experiment: Experiment) -> HealthCheck:
    """Does the analysed configuration match the pre-registered one?"""
    registration = read_registration(experiment)
    if registration is None:
        return HealthCheck("pre_registration", "ok", "exp.yaml is not locked; run `abkit "
                           "lock exp.yaml` at launch to pre-register the analysis")  # fmt: skip
    if registration.config_hash == experiment.config_hash:
        return HealthCheck("pre_registration", "ok", "configuration matches the "
                           f"registration of {registration.locked_at}")  # fmt: skip
    return HealthCheck(
        "pre_registration",
        "warning",
        f"exp.yaml or its metrics changed after the lock of {registration.locked_at} "
        f"(hash {registration.config_hash} → {experiment.config_hash}); these results "
        "are not the pre-registered analysis",
    )
