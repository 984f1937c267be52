"""The HTML report's page: its Jinja2 template, styles and Content-Security-Policy.

`abkit.report.html` fills the template; everything the page shows comes in as
template variables, and Jinja2 autoescapes all of them except the styles and the
plotly.js bundle (marked safe there).
"""

CSS = """
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #57606a;
        --line: #d0d7de; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: #1f2328; margin: 0 auto; padding: 24px 32px 64px;
       max-width: 1440px; line-height: 1.45; }
h1 { margin: 0 0 4px; font-size: 1.7rem; }
h2 { margin: 36px 0 10px; font-size: 1.25rem; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
h3 { margin: 20px 0 8px; font-size: 1.05rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--bg-soft); padding: 1px 4px; border-radius: 4px; }
.meta, .muted, .caption { color: var(--muted); }
.caption { font-size: 0.85rem; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
th { background: var(--bg-soft); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.nowrap, td.when { white-space: nowrap; }
td.metric { font-weight: 600; }
.detail { display: block; font-weight: normal; font-size: 0.78rem; color: var(--muted);
          white-space: normal; }
.verdict-better { color: var(--ok); font-weight: 700; }
.verdict-worse { color: var(--bad); font-weight: 700; }
.verdict-no_change { color: var(--muted); }
.verdict-invalid { color: var(--warn); }
.verdict-not_yet { color: var(--muted); }
.guard-not_harmed { color: var(--ok); font-weight: 700; }
.guard-harmed { color: var(--bad); font-weight: 700; }
.guard-inconclusive { color: var(--warn); font-weight: 700; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.8rem;
         font-weight: 700; color: #fff; text-transform: uppercase; }
.status-ok { background: var(--ok); }
.status-warning { background: var(--warn); }
.status-failed { background: var(--bad); }
tr.check-failed td { background: #ffebe9; font-weight: 600; }
.alert { border: 3px solid var(--bad); background: #ffebe9; color: #82071e;
         padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.alert strong { font-size: 1.1rem; }
.summary { border-left: 6px solid var(--muted); background: var(--bg-soft);
           padding: 12px 16px; border-radius: 4px; }
.summary.outcome-ship { border-color: var(--ok); }
.summary.outcome-do_not_ship, .summary.outcome-investigate { border-color: var(--bad); }
.summary.outcome-keep_running { border-color: var(--warn); }
.summary .headline { font-size: 1.1rem; font-weight: 600; margin: 4px 0 8px; }
.plot { width: 100%; }
.note { border-bottom: 1px solid var(--line); padding: 8px 0; }
.note .text { white-space: pre-wrap; margin-top: 2px; }
.scroll { overflow-x: auto; }
"""

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="abkit {{ result.abkit_version }}">
{% for name, content in meta.items() %}
<meta name="{{ name }}" content="{{ content }}">
{% endfor %}
<title>{{ result.title }} · abkit report</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>{{ result.title }}</h1>
<p class="meta">experiment <code>{{ result.experiment }}</code> · data window {{ window }}
 · config <code>{{ result.config_hash }}</code> · abkit {{ result.abkit_version }}
 · engine {{ result.engine }} ({{ result.dialect }} SQL)
 · generated {{ created }} · control <code>{{ result.control }}</code>, α = {{ result.alpha }}</p>
</header>
{% if failed %}
<div class="alert" role="alert"><strong>Health check failed — do not trust these
 metrics.</strong>
<ul>{% for check in failed %}<li>{{ check.name }}: {{ check.message }}</li>{% endfor %}</ul>
</div>
{% endif %}

<section id="summary">
<h2>Summary</h2>
{% if decision %}
<div class="summary outcome-{{ decision.outcome }}">
<span class="badge status-{{ 'ok' if decision.outcome == 'ship' else 'failed'
 if decision.outcome in ('do_not_ship', 'investigate') else 'warning' }}">{{
 outcome_labels.get(decision.outcome, decision.outcome) }}</span>
<p class="headline">{{ decision.summary }}</p>
{% if decision.reasons %}
<ul>{% for reason in decision.reasons %}<li>{{ reason }}</li>{% endfor %}</ul>
{% endif %}
<p class="caption">multiple-testing correction: {{ decision.correction }}</p>
</div>
{% else %}
<p class="summary">The primary decision isn't configured for this experiment, so the
 report makes no recommendation. Add a <code>decision:</code> block (primary metric,
 guardrails, correction) to the experiment file to get one.</p>
{% endif %}
</section>

{% if guardrails %}
<section id="guardrails">
<h2>Guardrails</h2>
<table class="guardrails">
<thead><tr>{% for header in guardrail_headers %}
<th class="{{ 'num' if header in ('margin', 'estimate [CI]') }}">{{ header }}</th>
{% endfor %}</tr></thead>
<tbody>
{% for row, status in guardrails %}
<tr data-guardrail="{{ row[0] }}" data-status="{{ status }}">
<td class="metric">{{ row[0] }}</td><td>{{ row[1] }}</td><td class="num">{{ row[2] }}</td>
<td class="num">{{ row[3] }}</td><td class="guard-{{ status }}">{{ row[4] }}</td></tr>
{% endfor %}
</tbody>
</table>
<p class="caption">{{ guardrail_caption }}</p>
</section>
{% endif %}

<section id="scorecard">
<h2>Scorecard</h2>
{% for heading, rows in scorecards %}
<h3>{{ heading }}</h3>
<div class="scroll"><table class="scorecard">
<thead><tr>{% for header in headers %}<th class="{{ 'num' if not loop.first }}">{{ header }}</th>
{%- endfor %}</tr></thead>
<tbody>
{% for row in rows %}
<tr{{ row.data|xmlattr }}>{% for cell in row.cells %}<td class="{{ cell.css }}">
{%- for part in cell.parts %}{{ ' ' if not loop.first }}<span class="nowrap">{{ part }}</span>
{%- endfor %}
{%- if cell.detail %}<span class="detail">{{ cell.detail }}</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></div>
{% endfor %}
<p class="caption">lift: CUPED-adjusted where a pre-period exists (relative to the adjusted
 control mean); CUPED variance: the share of variance removed. For metrics in the decision's
 correction family the verdict uses the corrected p-value (raw and corrected under the cell).</p>
{% if metric_notes %}
<ul class="caption">{% for note in metric_notes %}<li>{{ note }}</li>{% endfor %}</ul>
{% endif %}
</section>

<section id="forest">
<h2>Relative lifts</h2>
<div id="forest-plot" class="plot"></div>
<p class="caption">One row per metric × treatment; whiskers are the uncorrected
 confidence intervals, colours the verdicts.</p>
</section>

{% if 'timeline-plot' in figures %}
<section id="timeline">
<h2>Cumulative effect over time</h2>
<div id="timeline-plot" class="plot"></div>
<p class="caption">Each morning's analysis of the units whose metric window was complete;
 pick the metric in the menu.{% if result.sequential %} The dashed band is the sequential
 interval, valid however often you look; the dotted line marks a boundary crossing.{% endif %}</p>
</section>
{% endif %}

{% if sequential %}
<section id="sequential">
<h2>Sequential monitoring</h2>
<p class="caption">{{ sequential.title }}</p>
<div class="scroll"><table>
<thead><tr>{% for header in sequential.headers %}
<th class="{{ sequential.classes[loop.index0] }}">{{ header }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in sequential.rows %}
<tr>{% for cell in row %}<td class="{{ sequential.classes[loop.index0] }}
{%- if loop.last and cell.startswith('crossed') %} verdict-better{% endif %}">{{ cell }}</td>
{%- endfor %}</tr>
{% endfor %}
</tbody></table></div>
</section>
{% endif %}

<section id="health">
<h2>Health</h2>
<p>units: {% for variant, n in result.units.items() %}{{ variant }} {{ '{:,}'.format(n) }}
{%- if not loop.last %}, {% endif %}{% endfor %};
 excluded {{ '{:,}'.format(result.excluded_units) }}</p>
<table>
<thead><tr><th>status</th><th>check</th><th>message</th></tr></thead>
<tbody>
{% for check in result.health %}
<tr class="check-{{ check.status }}" data-check="{{ check.name }}" data-status="{{ check.status }}">
<td><span class="badge status-{{ check.status }}">{{ check.status }}</span></td>
<td>{{ check.name }}</td><td>{{ check.message }}</td></tr>
{% endfor %}
</tbody></table>
</section>

<section id="notes">
<h2>Notes</h2>
{% for note in notes %}
<div class="note" data-note-id="{{ note.id }}"><span class="muted">{{ stamp(note.created_at) }}
 · </span><strong>{{ note.author }}</strong>{% if note.metric %}<span class="muted"> on
 <code>{{ note.metric }}</code></span>{% endif %}
<div class="text">{{ note.text }}</div></div>
{% else %}
<p class="muted">No notes yet.</p>
{% endfor %}
</section>

<section id="decisions">
<h2>Decision log</h2>
{% if decisions %}
<table>
<thead><tr><th>when</th><th>who</th><th>decision</th><th>rationale</th><th>config</th></tr></thead>
<tbody>
{% for record in decisions %}
<tr data-decision-id="{{ record.id }}"><td class="when">{{ stamp(record.created_at) }}</td>
<td>{{ record.author }}</td><td><strong>{{ record.decision }}</strong></td>
<td>{{ record.rationale }}</td><td><code>{{ record.config_hash or '–' }}</code>
{%- if record.config_hash and record.config_hash != result.config_hash %}
<span class="detail">another config than this report's</span>{% endif %}</td></tr>
{% endfor %}
</tbody></table>
{% else %}
<p class="muted">No decision recorded yet.</p>
{% endif %}
</section>

<script id="plotly-js" type="application/octet-stream" data-encoding="gzip+base64">
{{ plotly_js }}</script>
<script type="application/json" id="abkit-figures">{{ figures|tojson }}</script>
<script>
(function () {
  // plotly.js ships gzipped (2 MB instead of 4.8 MB); the browser unpacks it offline
  function draw() {
    var specs = JSON.parse(document.getElementById("abkit-figures").textContent);
    Object.keys(specs).forEach(function (id) {
      var spec = specs[id];
      Plotly.newPlot(id, spec.data, spec.layout, spec.config);
    });
  }
  var packed = atob(document.getElementById("plotly-js").textContent.trim());
  var bytes = new Uint8Array(packed.length);
  for (var i = 0; i < packed.length; i++) { bytes[i] = packed.charCodeAt(i); }
  if (typeof DecompressionStream === "undefined") {
    document.body.insertAdjacentHTML("afterbegin",
      "<p class='summary'>This browser cannot unpack the charts; the tables hold " +
      "every number.</p>");
    return;
  }
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(stream).text().then(function (code) {
    var script = document.createElement("script");
    script.textContent = code;
    document.head.appendChild(script);
    draw();
  });
})();
</script>
</body>
</html>
"""
