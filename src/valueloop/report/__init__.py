"""Reports: a site's latest run as one self-contained HTML file.

:func:`write_report` puts the headline figures, fleet health, predicted against true remaining
life, the maintenance plan, the cost of each policy and the value ledger with its hash-chain status
in a single file that opens offline: ECharts, the styles and the data are inlined.
"""

from __future__ import annotations

from valueloop.report.html import write_report

__all__ = ["write_report"]
