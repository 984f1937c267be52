"""Shared helpers of the hardening tests: the tiny experiment, mutated, run by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, tiny_exp_dict, write_tiny

Mutation = Callable[[dict[str, Any], Path], None]


def tiny_case(directory: Path, mutate: Mutation | None = None) -> Path:
    """The tiny experiment in `directory`, its exp.yaml changed by `mutate`."""
    exp = tiny_exp_dict()
    path = write_tiny(directory, exp)
    if mutate is not None:
        mutate(exp, directory)
        path.write_text(yaml.safe_dump(exp))
    return path


def cli(
    *args: str | Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `abkit` in a subprocess on this checkout's code."""
    environment = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "abkit.frontends.cli", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=environment, check=False,
    )  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single error line of a failed command (asserts exit 2, no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert len(lines[0]) <= 400
    return lines[0]
