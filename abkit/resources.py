"""What ships beside the code: SQL templates, example YAML, the app, the version.

The wheel puts the files inside the package (`abkit/queries`, `abkit/examples`,
`abkit/app`); a source checkout keeps them at the top level, where analysts read
them. One lookup serves both layouts.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent

CHECKOUT_PLACES = {"queries": "queries", "examples": "data/examples", "app": "app"}
"""Where each resource lives in a source checkout, relative to the repository."""


def resource_dir(name: str) -> Path:
    """The folder of a shipped resource: inside the installed package, else the repo."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else PACKAGE.parent / CHECKOUT_PLACES[name]


def abkit_version() -> str:
    """The installed abkit version ("0+unknown" when run from a bare source tree)."""
    try:
        return version("abkit")
    except PackageNotFoundError:
        return "0+unknown"
