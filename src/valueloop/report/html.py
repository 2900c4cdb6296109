"""The report as one self-contained HTML file.

Tables are rendered here; the charts are drawn in the page by the console's chart code from the
report's data, inlined as JSON, with ECharts inlined too (SVG, no animation), so the file needs no
server and loads nothing from outside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from string import Template

from valueloop.api.models import LedgerOut, SummaryOut
from valueloop.console import static_text
from valueloop.report.data import ReportData, report_data
from valueloop.site import Site

MISSING = "\N{EN DASH}"
"""Shown where a figure was not recorded."""

POLICY_NAMES = {
    "run_to_failure": "Run to failure",
    "fixed_interval": "Fixed interval",
    "predictive": "Predictive",
}

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>valueloop report: $site</title>
<style>
$css
</style>
</head>
<body class="report">
<header class="topbar">
  <div class="brand">valueloop <span class="brand-sub">report</span></div>
  <div class="run-info">$site · generated $generated</div>
</header>
<main>
<section class="panel">
  <header class="panel-head"><h2>Headline</h2></header>
  $headline
</section>
<section class="panel">
  <header class="panel-head"><h2>Fleet health</h2>
    <span class="muted">Predicted remaining life (cycles) with its interval, by risk</span></header>
  <div class="chart" id="fleet-chart"></div>
</section>
<section class="panel">
  <header class="panel-head"><h2>Predicted against true remaining life</h2>
    <span class="muted">Cycles; on the dashed line a prediction is exact</span></header>
  <div class="chart" id="truth-chart"></div>
</section>
<section class="panel">
  <header class="panel-head"><h2>Maintenance plan</h2>
    <span class="muted">$plan_caption</span></header>
  <div class="chart" id="plan-chart"></div>
</section>
$solution
<section class="panel">
  <header class="panel-head"><h2>Savings per policy</h2>
    <span class="muted">Each policy played against the true failure times</span></header>
  <div class="chart" id="policy-chart"></div>
  $policies
</section>
<section class="panel">
  <header class="panel-head"><h2>Value ledger</h2>$chain</header>
  $ledger
</section>
</main>
<script type="application/json" id="report-data">$data</script>
<script>
$echarts
</script>
<script>
$charts
</script>
<script>
$report
</script>
</body>
</html>
""")

_UNSAFE_IN_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)


def _inline_script(code: str) -> str:
    """Script text that cannot end its ``<script>`` element early."""
    return _UNSAFE_IN_SCRIPT.sub(r"<\\/\1", code)


def _json_for_html(text: str) -> str:
    """JSON text safe inside a ``<script>`` element (the escapes are valid JSON)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return MISSING
    return f"{value:,.{digits}f}" + (f" {unit}" if unit else "")


def _percent(ratio: float | None, digits: int = 1) -> str:
    return MISSING if ratio is None else f"{ratio * 100:.{digits}f} %"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """An HTML table of already escaped cells; columns in ``numeric`` are right-aligned."""

    def cell(tag: str, index: int, text: str) -> str:
        align = ' class="num"' if index in numeric else ""
        return f"<{tag}{align}>{text}</{tag}>"

    head = "".join(cell("th", i, escape(h)) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _headline(data: ReportData) -> str:
    summary, plan = data.summary, data.plan
    rows: list[tuple[str, str]] = [("Site", data.site)]
    if summary is None:
        rows.append(("Run", "no run has finished yet"))
    else:
        rows += [
            ("Run", summary.run_id or MISSING),
            ("Model version", summary.model_version or MISSING),
            ("RUL error (RMSE)", _number(summary.rul_rmse, 2, "cycles")),
            ("PHM08 score", _number(summary.rul_phm_score, 1)),
            (
                "Interval coverage",
                f"{_percent(summary.rul_interval_coverage)} "
                f"(nominal {_percent(summary.rul_interval_nominal, 0)})",
            ),
            ("Plan status", summary.plan_status or MISSING),
        ]
    if plan is not None:
        rows += [
            ("Plan", plan.plan.plan_id),
            ("Plan objective", _number(plan.plan.objective, 0, data.currency)),
            ("Optimality gap", _percent(plan.plan.gap, 2)),
            ("Solve time", _number(plan.plan.solve_seconds, 2, "s")),
        ]
    if summary is not None:
        for name, saving in summary.savings.items():
            rows.append(
                (
                    f"Saving vs {POLICY_NAMES.get(name, name).lower()}",
                    f"{_number(saving.money, 0, summary.currency)} ({saving.percent:.1f} %)",
                )
            )
        rows += [
            ("Points ingested", _number(summary.points_ingested)),
            ("Dead letters", _number(summary.dead_letters)),
        ]
    rows.append(("Ledger hash chain", _chain_text(data.ledger)))
    return _table(["Figure", "Value"], ((escape(k), escape(v)) for k, v in rows), set())


def _chain_text(ledger: LedgerOut) -> str:
    if ledger.intact:
        return "intact"
    return "broken at entries " + ", ".join(str(seq) for seq in ledger.broken)


def _chain_badge(ledger: LedgerOut) -> str:
    tone = "intact" if ledger.intact else "broken"
    return f'<span class="status {tone}">hash chain {escape(_chain_text(ledger))}</span>'


def _policy_order(item: tuple[str, object]) -> tuple[int, str]:
    """Known policies in :data:`POLICY_NAMES` order, then any other by name."""
    names = list(POLICY_NAMES)
    return (names.index(item[0]) if item[0] in names else len(names), item[0])


def _policies(summary: SummaryOut | None) -> str:
    if summary is None or not summary.policies:
        return ""
    rows = [
        (
            escape(POLICY_NAMES.get(name, name)),
            escape(_number(outcome.cost, 0, summary.currency)),
            str(outcome.failures),
            str(outcome.overhauls),
            escape(_number(outcome.downtime_days, 1)),
            escape(_percent(outcome.availability, 2)),
        )
        for name, outcome in sorted(summary.policies.items(), key=_policy_order)
    ]
    headers = ["Policy", "Cost", "Failures", "Overhauls", "Downtime (days)", "Availability"]
    return _table(headers, rows, {1, 2, 3, 4, 5})


def _ledger(ledger: LedgerOut) -> str:
    if not ledger.entries:
        return '<p class="empty">No ledger entries recorded.</p>'
    rows = [
        (
            str(entry.seq),
            escape(entry.recorded_at.strftime("%Y-%m-%d %H:%M:%S")),
            escape(entry.kind),
            escape(entry.subject),
            escape(entry.metric),
            escape(_number(entry.value, 2)),
            escape(entry.unit),
            f'<span class="hash" title="{escape(entry.hash)}">{escape(entry.hash[:12])}</span>',
        )
        for entry in ledger.entries
    ]
    caption = f'<p class="muted">Run {escape(ledger.run_id or "")}</p>'
    headers = ["Seq", "Recorded (UTC)", "Kind", "Subject", "Metric", "Value", "Unit", "Hash"]
    return caption + _table(headers, rows, {0, 5})


def _plan_caption(data: ReportData) -> str:
    if data.plan is None:
        return ""
    planned = sum(1 for a in data.plan.assignments if a.day is not None)
    start = data.plan.plan.starts_at.strftime("%Y-%m-%d")
    overhauls = f"{planned} overhaul" + ("" if planned == 1 else "s")
    return f"{data.plan.plan.plan_id}: {overhauls} planned from {start}; asset against day"


def _solution(data: ReportData) -> str:
    """The panel of the latest schedule (a Gantt chart) or routes (a map), if one was recorded."""
    if data.solution is None:
        return ""
    plan = data.solution.plan
    shop = plan.kind in ("jsp", "fjsp")
    title = "Production schedule" if shop else "Delivery routes"
    caption = (
        f"{plan.plan_id}: {plan.kind} {data.solution.source}, "
        f"{'makespan' if shop else 'distance'} {plan.objective:,.2f}, {plan.status.lower()}, "
        f"gap {100 * plan.gap:.2f}%"
    )
    return (
        f'<section class="panel">\n  <header class="panel-head"><h2>{title}</h2>\n'
        f'    <span class="muted">{escape(caption)}</span></header>\n'
        f'  <div class="chart" id="solution-chart"></div>\n</section>'
    )


def render_report(data: ReportData) -> str:
    """The report page for ``data``."""
    return _PAGE.substitute(
        site=escape(data.site),
        generated=escape(data.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        css=static_text("console.css"),
        headline=_headline(data),
        plan_caption=escape(_plan_caption(data)),
        policies=_policies(data.summary),
        solution=_solution(data),
        chain=_chain_badge(data.ledger),
        ledger=_ledger(data.ledger),
        data=_json_for_html(data.model_dump_json()),
        echarts=_inline_script(static_text("echarts.min.js")),
        charts=_inline_script(static_text("charts.js")),
        report=_inline_script(static_text("report.js")),
    )


def write_report(site: Site, path: Path) -> Path:
    """Write the report of ``site``'s latest run to ``path`` (folders created); return the path."""
    html = render_report(report_data(site, generated_at=datetime.now(UTC)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
