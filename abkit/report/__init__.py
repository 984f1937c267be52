"""Stage 7, presentation: terminal (rich), Markdown, JSON and HTML renderings of results.

`html` (and the charts it shares with the app) loads plotly, so it is imported only
where an HTML report or a chart is asked for.
"""

from abkit.report.terminal import render as render
from abkit.report.terminal import render_json as render_json
from abkit.report.terminal import render_markdown as render_markdown
from abkit.report.terminal import render_text as render_text
