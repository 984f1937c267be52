"""The `abkit` command line: a thin layer over the library API.

Every command parses its input, calls one library function and renders. User
errors (`AbkitError`) print one red line and exit 2; anything else is a bug and
keeps its traceback. Each command imports the library it needs when it runs, so
`abkit --help` and `abkit sql` do not load pandas, DuckDB, SciPy or plotly.

`common` holds the typer app and what the commands share; the commands live in
`analysis_commands`, `store_commands` and `tool_commands`, registered on import.
"""

from abkit.frontends.cli import aa_command as aa_command
from abkit.frontends.cli import analysis_commands as analysis_commands
from abkit.frontends.cli import store_commands as store_commands
from abkit.frontends.cli import tool_commands as tool_commands
from abkit.frontends.cli import validate_command as validate_command
from abkit.frontends.cli.common import app as app

__all__ = ["app"]
