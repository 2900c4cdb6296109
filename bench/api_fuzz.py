"""The API contract at a larger budget: schemathesis, every check, against `valueloop serve`.

The same run as ``tests/api/test_contract.py`` (same site, admin token, checks and reports) with
more test cases per operation. Prints a table of requests and failed test cases per route and
writes ``bench/results/api_fuzz.json`` with the machine it ran on.

    python bench/api_fuzz.py                        # 200 cases per operation and phase
    python bench/api_fuzz.py --max-examples 1000 --seed 7 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from common import write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.contract import fuzz, served_site


def main() -> None:
    """Run the fuzzer, print the table, write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20_260_301)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-time", type=float, default=None, help="seconds for the whole run")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, served_site(Path(folder)) as served:
        report = fuzz(
            served,
            Path(folder) / "reports",
            seed=options.seed,
            max_examples=options.max_examples,
            workers=options.workers,
            max_time=options.max_time,
        )
        server_up = served.process.poll() is None
    table = Table(title=f"schemathesis, every check: {options.max_examples} cases an operation")
    for column in ("route", "requests", "failures"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for route in sorted(report.requests):
        table.add_row(route, str(report.requests[route]), str(report.failures.get(route, 0)))
    table.add_row("all", str(report.total_requests), str(sum(report.failures.values())))
    console = Console()
    console.print(table)
    for message in report.messages:
        console.print(message, markup=False)
    path = write_result(
        "api_fuzz",
        {
            "settings": {
                "max_examples": options.max_examples,
                "seed": options.seed,
                "workers": options.workers,
                "max_time": options.max_time,
                "checks": "all",
            },
            "seconds": round(report.seconds, 1),
            "requests": report.total_requests,
            "failures": sum(report.failures.values()),
            "server_up": server_up,
            "routes": {
                route: {"requests": count, "failures": report.failures.get(route, 0)}
                for route, count in sorted(report.requests.items())
            },
            "failure_messages": report.messages,
        },
    )
    console.print(f"{report.total_requests} requests in {report.seconds:.0f} s; written to {path}")


if __name__ == "__main__":
    main()
