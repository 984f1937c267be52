"""Stage 7, presentation: terminal (rich), Markdown, JSON and HTML renderings of results.

- `formatting`: numbers as text and the plain-text rows every rendering shares.
- `tables`: the rich terminal tables; `terminal`: printing, plain text, the CLI's
  `--format` switch and the shareable report's.
- `markdown`, `json_output`: the Markdown and JSON renderings.
- `html` (with its page in `html_template`): the self-contained HTML report.
- `charts`, `timeline_charts`: plotly figures shared by the HTML report and the app.
- `records`: what the reports read of the results store's notes, decisions, snapshots.

`html` and the charts load plotly, so they are imported only where an HTML report or
a chart is asked for; importing this package does not load plotly.
"""

from abkit.analysis.text import format_difference as format_difference
from abkit.analysis.text import format_lift as format_lift
from abkit.analysis.text import format_pvalue as format_pvalue
from abkit.analysis.text import format_value as format_value
from abkit.report.json_output import render_json as render_json
from abkit.report.markdown import render_markdown as render_markdown
from abkit.report.terminal import render as render
from abkit.report.terminal import render_plan as render_plan
from abkit.report.terminal import render_report as render_report
from abkit.report.terminal import render_text as render_text
