"""A signed savings statement as an HTML page and a PDF.

The page holds, in order: the contract, period and parties; the headline figures (verified
saving with its confidence interval, money, what each party owes); the savings by month as an
inline SVG chart; each measured action with its baseline model and Guideline 14 statistics; the
adjustments log; the ledger entries the statement rests on, with the ledger's head; and the
signature. The PDF is the same page rendered by WeasyPrint (imported only here, when a PDF is
asked for). Figures are written with two decimals and thousands separators, so that a reader of
the PDF's text finds the ledger's figures as they are.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from valueloop.errors import ConfigError
from valueloop.value.statement import SignedStatement

_STYLE = """
body { font-family: sans-serif; font-size: 9pt; color: #222; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 11pt; margin: 14pt 0 4pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th, td { border-bottom: 1px solid #ccc; padding: 2pt 4pt; text-align: left; vertical-align: top; }
td.n { text-align: right; white-space: nowrap; }
.warn { color: #a40000; font-weight: bold; } .ok { color: #0a6b2d; font-weight: bold; }
.hash { font-family: monospace; font-size: 7pt; word-break: break-all; }
@page { size: A4; margin: 14mm; }
"""


def figure(value: float) -> str:
    """A figure as the statement writes it: two decimals, thousands separated; ``n/a`` when
    there is none (a saving that could not be measured)."""
    return f"{value:,.2f}" if math.isfinite(value) else "n/a"


def _cells(values: list[Any], numeric: set[int] | None = None) -> str:
    numbers = numeric or set()
    return "".join(
        f'<td class="n">{escape(str(v))}</td>' if i in numbers else f"<td>{escape(str(v))}</td>"
        for i, v in enumerate(values)
    )


def _table(head: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    heading = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(f"<tr>{_cells(row, numeric)}</tr>" for row in rows)
    return f"<table><thead><tr>{heading}</tr></thead><tbody>{body}</tbody></table>"


def savings_chart(by_month: dict[str, float], unit: str) -> str:
    """Bars of the verified saving per month, as inline SVG (negative bars below the axis)."""
    width, height, pad = 520, 160, 28
    values = list(by_month.values()) or [0.0]
    top = max(max(values), 0.0)
    bottom = min(min(values), 0.0)
    span = (top - bottom) or 1.0
    slot = (width - 2 * pad) / max(len(by_month), 1)
    zero = pad + (top / span) * (height - 2 * pad)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="verified saving by month, {escape(unit)}">',
        f'<line x1="{pad}" y1="{zero:.1f}" x2="{width - pad}" y2="{zero:.1f}" stroke="#555"/>',
    ]
    for index, (month, value) in enumerate(by_month.items()):
        bar = abs(value) / span * (height - 2 * pad)
        x = pad + index * slot + slot * 0.15
        y = zero - bar if value >= 0 else zero
        colour = "#2a7ab0" if value >= 0 else "#b03a2a"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar:.1f}" '
            f'fill="{colour}"><title>{escape(month)}: {figure(value)} {escape(unit)}</title></rect>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 8}" font-size="9" '
            f'text-anchor="middle">{escape(month)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _statistics_row(line: dict[str, Any]) -> list[Any]:
    stats = line["statistics"] or {}
    model = line["model"] or {}
    if not stats:
        return [line["order_id"], line["baseline"], "not fitted", "", "", "", "", ""]
    return [
        line["order_id"],
        line["baseline"],
        model.get("form", ""),
        f"{stats['cv_rmse']:.2%}",
        f"{stats['nmbe']:.2%}",
        f"{stats['r_squared']:.3f}",
        stats["rows"],
        "pass" if stats["passes"] else "FAIL",
    ]


def _headline(content: dict[str, Any], unit: str) -> str:
    currency, confidence = content["currency"], content["confidence"]
    saving, spread = content["saving"], content["uncertainty"]
    rows = [
        ["Verified saving", f"{figure(saving)} {unit}"],
        [
            f"Confidence interval ({confidence:.0%})",
            f"{figure(saving - spread)} to {figure(saving + spread)} {unit} (± {figure(spread)})",
        ],
        ["Money saved", f"{figure(content['money'])} {currency}"],
        [
            f"Money interval ({confidence:.0%})",
            f"± {figure(content['money_uncertainty'])} {currency}",
        ],
        ["Expected by the proposals", f"{figure(content['expected_value'])} {currency}"],
    ]
    warning = ""
    if content["unverified"]:
        warning = (
            '<p class="warn">Unverified, left out of the money due: '
            f"{escape(', '.join(content['unverified']))}. See the reasons below.</p>"
        )
    return _table(["Figure", "Value"], rows) + warning


def statement_html(statement: SignedStatement) -> str:
    """The statement as a self-contained HTML page."""
    content = statement.content
    contract, period, lines = content["contract"], content["period"], content["lines"]
    currency = content["currency"]
    unit = lines[0]["unit"] if lines else ""
    actions = [
        [
            line["order_id"],
            f"{line['asset']} {line['action']}",
            f"{line['kpi']} (option {line['option']})",
            figure(line["counterfactual"]),
            figure(line["adjustment"]),
            figure(line["observed"]),
            figure(line["saving"]),
            figure(line["uncertainty"]),
            figure(line["money"]),
            "verified" if line["verified"] else "UNVERIFIED: " + "; ".join(line["reasons"]),
        ]
        for line in lines
    ]
    adjustments = [
        [
            line["order_id"],
            a["kind"],
            f"{a['start'][:10]} to {a['end'][:10]}",
            figure(a["amount"]),
            a["actor"],
            a["reason"],
            a["seq"],
        ]
        for line in lines
        for a in line["adjustments"]
    ]
    entries = [
        [e["seq"], e["kind"], e["subject"], e["metric"], figure(e["value"]), e["unit"]]
        for line in lines
        for e in line["entries"]
    ]
    dues = [
        [d["payer"], d["payee"], f"{figure(d['amount'])} {currency}", d["basis"]]
        for d in content["due"]
    ]
    ledger = content["ledger"]
    chain = (
        '<span class="ok">intact</span>' if ledger["intact"] else '<span class="warn">BROKEN</span>'
    )
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            f"<title>Savings statement {escape(contract['id'])} {escape(period['label'])}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<h1>Savings statement {escape(contract['id'])}, {escape(period['label'])}</h1>",
            f"<p>Site {escape(content['site'])}. {escape(contract['kind'].replace('_', ' '))} "
            f"between {escape(contract['provider'])} (provider) and {escape(contract['client'])} "
            f"(client), term {contract['start']} to {contract['end']}. "
            f"Computed {escape(content['computed_at'])}.</p>",
            "<h2>Savings</h2>",
            _headline(content, unit),
            "<h2>Money due</h2>",
            _table(["Payer", "Payee", "Amount", "Basis"], dues, {2}),
            f"<h2>Verified saving by month ({escape(unit)})</h2>",
            savings_chart(content["savings_by_month"], unit),
            "<h2>Measured actions</h2>",
            _table(
                [
                    "Order",
                    "Action",
                    "KPI",
                    "Adjusted baseline",
                    "Adjustment",
                    "Observed",
                    "Saving",
                    f"± ({content['confidence']:.0%})",
                    f"Money ({currency})",
                    "Status",
                ],
                actions,
                {3, 4, 5, 6, 7, 8},
            ),
            "<h2>Baseline models (ASHRAE Guideline 14)</h2>",
            _table(
                ["Order", "Kind", "Form", "CV(RMSE)", "NMBE", "R²", "Days/hours", "G14"],
                [_statistics_row(line) for line in lines],
                {3, 4, 5, 6},
            ),
            "<h2>Adjustments log</h2>",
            _table(
                ["Order", "Kind", "Period", "Amount per interval", "By", "Why", "Audit seq"],
                adjustments,
                {3, 6},
            )
            if adjustments
            else "<p>No non-routine adjustment.</p>",
            "<h2>Ledger entries</h2>",
            f"<p>Ledger head: seq {ledger['head_seq']}, hash "
            f'<span class="hash">{escape(ledger["head_hash"])}</span>; chain {chain}.</p>',
            _table(["Seq", "Kind", "Subject", "Metric", "Value", "Unit"], entries, {0, 4}),
            "<h2>Signature</h2>",
            "<p>HMAC-SHA256 over the statement's canonical JSON, under a key derived from the "
            'site\'s audit key for statements: <span class="hash">'
            f"{escape(statement.signature)}</span></p>",
            "</body></html>",
        ]
    )


def statement_pdf(html: str) -> bytes:
    """``html`` rendered as a PDF by WeasyPrint."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as err:
        raise ConfigError(
            "a PDF statement needs WeasyPrint and its system libraries (Pango): "
            f"pip install 'valueloop[platform]' and install libpango; {err}"
        ) from err
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
