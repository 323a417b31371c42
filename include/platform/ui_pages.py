"""HTML of the Reports and Models pages (Jinja2 with autoescape: every value from data is escaped).

The pages are server-rendered and small on purpose: they open inside the Airflow UI (an external
view in an iframe) and also stand alone at ``/genai/...``. The only script is the table sorter below,
sent with a per-response nonce that the Content-Security-Policy allows (no inline handlers, nothing
from another origin). Rendered Markdown is the one value inserted unescaped, and it comes from
:func:`include.platform.reports_view.render_markdown`, which escapes raw HTML itself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

#: Click a header to sort the table by that column (numbers numerically); hand-written because it is
#: 20 lines and a library would be a download the offline UI cannot make.
SORT_SCRIPT = """
document.querySelectorAll("table").forEach(function (table) {
  var head = table.tHead; if (!head) return;
  Array.prototype.forEach.call(head.rows[0].cells, function (th, col) {
    th.classList.add("sortable"); th.title = "sort";
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(head.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var key = function (row) {
        var text = (row.cells[col] || {}).textContent || "";
        var num = parseFloat(text.replace(/[,$%\\s]/g, ""));
        return isNaN(num) || !/^[-+$\\s\\d.,%eE]+$/.test(text.trim()) ? text.trim().toLowerCase() : num;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

_LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · GenAI</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="{{ nonce }}">
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 1.5rem 2rem;color:#1a202c;
 line-height:1.45;max-width:1100px}
nav.top{display:flex;gap:1rem;align-items:center;padding:.8rem 0;border-bottom:1px solid #e2e8f0;margin-bottom:1rem}
nav.top a{text-decoration:none;color:#2b6cb0;font-weight:600}nav.top a.here{color:#1a202c}
.crumbs{color:#4a5568;font-size:.9rem;margin-bottom:.5rem}a{color:#2b6cb0}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #e2e8f0;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f7fafc}th.sortable{cursor:pointer}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
img{max-width:100%;height:auto;border:1px solid #edf2f7}
pre,code{background:#f7fafc;font-size:.85rem}pre{padding:.6rem;overflow:auto}
.badge{display:inline-block;border-radius:.6rem;padding:0 .5rem;font-size:.8rem;background:#edf2f7;margin-right:.2rem}
.badge.champion{background:#c6f6d5}.badge.challenger{background:#fefcbf}.badge.previous{background:#e9d8fd}
.badge.rejected,.badge.rolled_back{background:#fed7d7}.muted{color:#718096}.error{color:#c53030}
.scroll{overflow-x:auto}section.model{border-top:1px solid #e2e8f0;padding-top:.5rem;margin-top:1rem}
</style></head><body>
<nav class="top"><a href="{{ base }}/reports" class="{{ 'here' if area == 'reports' }}">Reports</a>
<a href="{{ base }}/models" class="{{ 'here' if area == 'models' }}">Models</a></nav>
{% block body %}{% endblock %}
<script nonce="{{ nonce }}">{{ sort_script | safe }}</script>
</body></html>"""

_INDEX = """{% extends "layout" %}{% block body %}
<h1>Reports</h1>
<p class="muted">Every report the pipelines wrote to the lake ({{ lake }}), newest first. The Markdown files
stay where they are; this page renders them.</p>
{% if not dags %}<p>No reports yet: run a pipeline (for example <code>customer_sentiment_analysis</code>)
and come back.</p>{% else %}
<table id="dags"><thead><tr><th>DAG</th><th>Latest report</th><th>Day</th><th>Written (UTC)</th><th>Reports</th>
</tr></thead><tbody>
{% for dag_id, reports in dags.items() %}{% set latest = reports[0] %}
<tr><td><a href="{{ base }}/reports/{{ dag_id }}">{{ dag_id }}</a></td>
<td><a href="{{ base }}/reports/{{ latest.url }}">{{ latest.title }}</a></td><td>{{ latest.day or "" }}</td>
<td>{{ stamp(latest.modified) }}</td><td>{{ reports | length }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
{% endblock %}"""

_DAG = """{% extends "layout" %}{% block body %}
<div class="crumbs"><a href="{{ base }}/reports">Reports</a> › {{ dag_id }}</div>
<h1>{{ dag_id }}</h1>
{% if note %}<p class="muted">{{ note }}</p>{% endif %}
{% if not reports %}<p>No reports for this DAG yet.</p>{% else %}
<p>Latest: <a href="{{ base }}/reports/{{ reports[0].url }}">{{ reports[0].title }}</a></p>
<table id="reports"><thead><tr><th>Report</th><th>Day</th><th>Written (UTC)</th></tr></thead><tbody>
{% for r in reports %}<tr><td><a href="{{ base }}/reports/{{ r.url }}">{{ r.title }}</a></td>
<td>{{ r.day or "" }}</td><td>{{ stamp(r.modified) }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
{% endblock %}"""

_REPORT = """{% extends "layout" %}{% block body %}
<div class="crumbs"><a href="{{ base }}/reports">Reports</a> ›
<a href="{{ base }}/reports/{{ report.dag_id }}">{{ report.dag_id }}</a> › {{ report.rel }}</div>
<p class="muted">{{ location }}{% if report.modified %} · written {{ stamp(report.modified) }} UTC{% endif %}</p>
<article class="report">{{ body | safe }}</article>
{% if others %}<h2>Other reports of this DAG</h2><ul>{% for r in others %}
<li><a href="{{ base }}/reports/{{ r.url }}">{{ r.title }}</a> <span class="muted">{{ stamp(r.modified) }}</span></li>
{% endfor %}</ul>{% endif %}
{% endblock %}"""

_MODELS = """{% extends "layout" %}{% block body %}
<h1>Models</h1>
<p class="muted">The model registry in the lake ({{ lake }}): every version with its lifecycle status, metrics
and aliases, and the decisions that moved them.</p>
{% if not models %}<p>No models registered yet: run <code>train_sentiment_model</code> (or any training DAG).</p>{% endif %}
{% for m in models %}<section class="model" id="model-{{ m.name }}">
<h2>{{ m.name }}</h2>
{% if m.error %}<p class="error">{{ m.error }}</p>{% else %}
<p>{% for alias in ["champion", "challenger", "previous"] %}{% if alias in m.aliases %}
<span class="badge {{ alias }}" data-alias="{{ alias }}">{{ alias }}: v{{ m.aliases[alias] }}</span>{% endif %}{% endfor %}
{% if not m.aliases %}<span class="muted">no aliases yet</span>{% endif %}
{% if m.producer %}<span class="muted">· produced by <code>{{ m.producer }}</code></span>{% endif %}</p>
<div class="scroll"><table class="versions"><thead><tr><th>Version</th><th>Status</th><th>Aliases</th><th>Created (UTC)</th>
{% for k in metric_keys(m) %}<th>{{ k }}</th>{% endfor %}</tr></thead><tbody>
{% for v in m.versions %}<tr><td>{{ v.version }}</td><td><span class="badge {{ v.status }}">{{ v.status }}</span></td>
<td>{{ v.aliases | join(", ") }}</td><td>{{ v.created_at[:19] }}</td>
{% for k in metric_keys(m) %}<td>{{ number(v.metrics.get(k)) }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table></div>
<h3>Decision history</h3>
<table class="history"><thead><tr><th>At (UTC)</th><th>Version</th><th>Decision</th><th>Status</th><th>Decided by</th>
<th>Reasons</th></tr></thead><tbody>
{% for h in m.history %}<tr><td>{{ (h.at or "")[:19] }}</td><td>{{ h.version }}</td><td>{{ h.decision }}</td>
<td>{{ h.status }}</td><td><code>{{ h.decided_by or "" }}</code></td><td>{{ h.reasons | join("; ") }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
</section>{% endfor %}
{% endblock %}"""

_MESSAGE = """{% extends "layout" %}{% block body %}<h1>{{ title }}</h1><p>{{ message }}</p>{% endblock %}"""


@cache
def _env() -> Any:
    from jinja2 import DictLoader, Environment, select_autoescape

    env = Environment(loader=DictLoader({"layout": _LAYOUT, "index": _INDEX, "dag": _DAG, "report": _REPORT,
                                         "models": _MODELS, "message": _MESSAGE}),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals.update(stamp=_stamp, number=_number, metric_keys=_metric_keys, sort_script=SORT_SCRIPT)
    return env


def _stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


#: At most this many metric columns per model (the rest stay in the manifest); the most common first.
MAX_METRIC_COLUMNS = 8


#: Headline metrics first (what the gates decide on); then the most common, then by name.
HEADLINE_METRICS = ("macro_f1", "accuracy", "perplexity", "quality", "ci_low", "ci_high", "auc", "log_loss")


def _metric_keys(model: Any) -> list[str]:
    counts: dict[str, int] = {}
    for v in model.versions:
        for key in v["metrics"]:
            counts[key] = counts.get(key, 0) + 1
    rank = {k: i for i, k in enumerate(HEADLINE_METRICS)}
    return sorted(counts, key=lambda k: (rank.get(k, len(rank)), -counts[k], k))[:MAX_METRIC_COLUMNS]


def render(page: str, *, base: str, nonce: str, **values: Any) -> str:
    """One page (``index``, ``dag``, ``report``, ``models``, ``message``) as a full HTML document."""
    area = "models" if page == "models" else "reports"
    return _env().get_template(page).render(base=base, nonce=nonce, area=area, **values)
