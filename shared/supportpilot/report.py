"""`supportpilot report`: the desk's figures for a period as one self-contained HTML page (inline SVG
charts; no scripts, fonts or images from elsewhere) and a JSON summary with the same figures."""

import base64
import hashlib
from collections.abc import Sequence
from html import escape
from pathlib import Path

from supportpilot.insights import DeskFigures, WorkloadRow, share

PALETTE = ("#2f6db5", "#e07b39", "#3a9d5d", "#c2413b", "#7d5ba6", "#8c6d46", "#d16ba5", "#6f7a87", "#b5a22f")
_BAR_HEIGHT = 22
_CHART_WIDTH = 640


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def horizontal_bars(rows: Sequence[tuple[str, float, str]], title: str) -> str:
    """One bar per (label, value, value text); scaled to the largest value."""
    if not rows:
        return f'<p class="empty">{escape(title)}: no data in this period</p>'
    label_width, bar_space = 170, _CHART_WIDTH - 170 - 80
    top = max(value for _, value, _ in rows) or 1
    height = len(rows) * (_BAR_HEIGHT + 6) + 10
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{_CHART_WIDTH}" height="{height}">']
    for i, (label, value, text) in enumerate(rows):
        y = 5 + i * (_BAR_HEIGHT + 6)
        width = bar_space * value / top
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{width:.1f}" height="{_BAR_HEIGHT}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{label_width + width + 6:.1f}" y="{y + 15}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked_volume(figures: DeskFigures) -> str:
    """Tickets per day, stacked by category, with a legend."""
    categories = list(figures.by_category)
    if not categories:
        return '<p class="empty">No tickets in this period.</p>'
    colour = {category: PALETTE[i % len(PALETTE)] for i, category in enumerate(categories)}
    days = figures.volume_by_day
    plot_height, left, bottom = 200, 40, 230
    slot = (_CHART_WIDTH - left) / len(days)
    top = max(sum(d.by_category.values()) for d in days) or 1
    parts = [f'<svg role="img" aria-label="tickets per day by category" width="{_CHART_WIDTH}" height="260">']
    parts.append(f'<text x="{left - 6}" y="{bottom - plot_height + 4}" text-anchor="end">{top}</text>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{_CHART_WIDTH}" y2="{bottom}" stroke="#999"/>')
    for i, day in enumerate(days):
        x, y = left + i * slot, float(bottom)
        for category in categories:
            count = day.by_category.get(category, 0)
            if not count:
                continue
            h = plot_height * count / top
            y -= h
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour[category]}"><title>{day.day}: {escape(category)} {count}</title></rect>'
            )
        if len(days) <= 14 or i % max(1, len(days) // 10) == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{bottom + 16}" text-anchor="middle">{day.day:%d-%m}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'fill="{colour[c]}"/></svg>{escape(c)} ({n})</span>'
        for c, n in figures.by_category.items()
    )
    return "".join(parts) + f'<p class="legend">{legend}</p>'


def _workload_table(rows: Sequence[WorkloadRow], heading: str) -> str:
    if not rows:
        return f'<p class="empty">No {escape(heading.lower())} with work in this period.</p>'
    head = (
        f"<tr><th>{escape(heading)}</th><th>open</th><th>claimed</th><th>handled</th><th>per day</th>"
        "<th>median handling</th><th>prepared by automation</th><th>SLA breaches</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(r.key)}</td><td>{r.open}</td><td>{r.claimed}</td><td>{r.handled}</td>"
        f"<td>{r.handled_per_day:g}</td><td>{duration_text(r.median_handling_seconds)}</td>"
        f"<td>{_percent(r.automation_prepared_share)}</td><td>{r.sla_breaches}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#222;max-width:60rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.tiles{display:flex;flex-wrap:wrap;gap:1rem}.tile{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem}
.tile b{display:block;font-size:1.4rem}svg text{font-size:12px;fill:#333}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
td:first-child,th:first-child{text-align:left}.key{margin-right:1rem}
.key svg{margin-right:.3rem;vertical-align:middle}.empty{color:#777}
"""
# The page's only style is the <style> element above (no style attributes), so a Content-Security-Policy
# can allow exactly it by hash: served by the operator API and shown inside the console, the report runs
# under a policy without 'unsafe-inline'.
STYLE_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode() + "'"
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {STYLE_SOURCE}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _tile(label: str, value: str, name: str) -> str:
    return f'<div class="tile" data-figure="{name}"><b>{escape(value)}</b>{escape(label)}</div>'


def render_html(figures: DeskFigures) -> str:
    first_day, last_day = figures.period_start.date(), figures.volume_by_day[-1].day
    automation, corrections, csat = figures.automation, figures.corrections, figures.csat
    tiles = "".join(
        [
            _tile("tickets", str(figures.tickets), "tickets"),
            _tile("median first response", duration_text(figures.first_response.median_seconds), "median-first"),
            _tile("median time to close", duration_text(figures.resolution.median_seconds), "median-resolution"),
            _tile("prepared by automation", _percent(automation.automation_share), "automation-share"),
            _tile("AI corrections", _percent(corrections.correction_rate), "correction-rate"),
            _tile("CSAT (1-5)", "n/a" if csat.average is None else f"{csat.average:.2f}", "csat"),
            _tile("SLA breaches", str(figures.sla.breaches), "sla-breaches"),
        ]
    )
    rates = [
        (label, value or 0.0, _percent(value))
        for label, value in (
            ("answered automatically", share(automation.auto_reply, automation.routed)),
            ("prepared by automation", automation.automation_share),
            ("suggestions accepted", automation.suggestion_acceptance_rate),
            ("categories corrected", corrections.correction_rate),
        )
    ]
    first_response = [(b.label, b.count, str(b.count)) for b in figures.first_response.buckets]
    csat_rows = [(f"{rating} stars", count, str(count)) for rating, count in csat.distribution.items()]
    breaches = [(queue, count, str(count)) for queue, count in figures.sla.by_queue.items()]
    handled = [(r.key, r.handled, str(r.handled)) for r in figures.workload.operators]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SupportPilot report {first_day} to {last_day}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body>
<h1>SupportPilot report: {first_day} to {last_day} ({figures.days} days)</h1>
<div class="tiles">{tiles}</div>
<h2>Tickets per day by category</h2>{stacked_volume(figures)}
<h2>Time to first response</h2>
<p>{figures.first_response.count} tickets answered; median {duration_text(figures.first_response.median_seconds)},
90% within {duration_text(figures.first_response.p90_seconds)}.</p>
{horizontal_bars(first_response, "first response time")}
<h2>Automation and corrections</h2>
<p>{automation.routed} tickets routed: {automation.auto_reply} answered automatically, {automation.suggest} with a
suggestion, {automation.human_now} straight to a person. {automation.suggestions_approved} of
{automation.suggestions_made} suggestions approved, {automation.suggestions_rejected} rejected.
{corrections.corrected} of {corrections.triaged} triaged tickets had their category corrected.</p>
{horizontal_bars(rates, "automation and correction rates")}
<h2>Customer satisfaction</h2>
<p>{csat.votes} ratings; average {"n/a" if csat.average is None else f"{csat.average:.2f}"}.</p>
{horizontal_bars(csat_rows if csat.votes else [], "ratings")}
<h2>SLA breaches</h2>
<p>{figures.sla.breaches} escalations breached their SLA in this period;
{figures.sla.open_breached} breached tickets still wait on a person.</p>
{horizontal_bars(breaches, "SLA breaches per team")}
<h2>Workload per operator</h2>
{horizontal_bars(handled, "tickets handled per operator")}
{_workload_table(figures.workload.operators, "Operator")}
<h2>Workload per team</h2>
{_workload_table(figures.workload.teams, "Team")}
<p class="empty">Operators are shown by their sign-in id; figures are also in summary.json.</p>
</body></html>
"""


def write_report(figures: DeskFigures, out_dir: Path) -> tuple[Path, Path]:
    """Writes report.html and summary.json into `out_dir` (created when missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / "report.html", out_dir / "summary.json"
    html_path.write_text(render_html(figures), encoding="utf-8")
    json_path.write_text(figures.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return html_path, json_path
