"""Fixtures of the app tests: a private copy of the demo experiment folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import abkit
from abkit.analysis.results import AnalysisResult

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "app"
APP_FILE = APP_DIR / "streamlit_app.py"
EXPERIMENT = "icebreaker_prompts"


def copy_experiments(demo_exp: Path, target: Path) -> Path:
    """The example experiment and the demo log it reads, copied under `target`."""
    shutil.copytree(demo_exp.parent, target / "examples")
    shutil.copytree(demo_exp.parent.parent / "demo", target / "demo")
    return target


@pytest.fixture(scope="module")
def app_dir(demo_exp: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An experiments folder of its own (the app writes abkit.db into it)."""
    return copy_experiments(demo_exp, tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def expected(app_dir: Path) -> AnalysisResult:
    """The library's analysis of the copied experiment, with exp.yaml's options."""
    return abkit.analyze(app_dir / "examples" / "exp.yaml")
