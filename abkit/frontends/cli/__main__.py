"""`python -m abkit.frontends.cli`: the same command line as `abkit`."""

from abkit.frontends.cli import app

app()
