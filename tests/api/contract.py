"""The API contract run: schemathesis, every check, against a real ``valueloop serve``.

:func:`served_site` starts ``valueloop serve`` on a small site with no field connector (so nothing
approved can reach a device) and an admin token, so that every authenticated route is exercised;
:func:`fuzz` runs the ``schemathesis`` command against it and reads its reports into a
:class:`FuzzReport` (requests and failures per route). The contract test and ``bench/api_fuzz.py``
both use them, with a small and a large budget.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from tests.api.fleet import bearer
from tests.e2e.processes import server_of

from valueloop.api.auth import issue_token
from valueloop.site import open_site

SITE = """
site: {name: works, timezone: UTC, currency: EUR}
asset_types:
  pump:
    signals: {flow: {unit: l/min}, power: {unit: kW}}
    setpoints: {speed: {unit: rpm, min: 500, max: 3000, max_step: 200}}
assets:
  - {path: pumping/line-1/pump-1, type: pump}
  - {path: pumping/line-1/pump-2, type: pump}
"""
FLOW = "works/pumping/line-1/pump-1/flow"
REFUSED_TOKENS = 1_000_000
"""The fuzzer sends refused tokens on purpose (the ``ignored_auth`` check); its address is not
barred for them."""
CONFIG = """
# A 422 also answers values the schema cannot describe: an opaque cursor that is not one the
# server gave, an asset or set-point the site does not have, a time outside 1970-2200.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# The event stream answers at once with max_seconds=0; any other value holds it open that long.
[[operations]]
include-path = "/api/events"
parameters = { max_seconds = 0 }
"""
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@dataclass(frozen=True)
class Served:
    """A running ``valueloop serve``: its address, process and an admin's token."""

    base: str
    process: subprocess.Popen[bytes]
    token: str
    log: Path


@contextmanager
def served_site(folder: Path, *, request_timeout: float | None = None) -> Iterator[Served]:
    """``valueloop serve`` of :data:`SITE` in ``folder``, with readings stored; stopped after."""
    (folder / "site.yaml").write_text(SITE)
    site = open_site(folder / "site.yaml", folder / "data")
    token = issue_token(site.store, "fuzzer", "admin")
    site.close()
    options = ["--refused-tokens", str(REFUSED_TOKENS)]
    if request_timeout is not None:
        options += ["--request-timeout", str(request_timeout)]
    with server_of(folder / "data", *options) as server:
        readings = [
            {"series": FLOW, "ts": f"2026-03-01T00:{minute:02d}:00Z", "value": float(minute)}
            for minute in range(60)
        ]
        stored = httpx.post(f"{server.base}/api/ingest", json=readings, headers=bearer(token))
        assert stored.status_code == 200, stored.text
        yield Served(server.base, server.process, token, server.log)


@dataclass
class FuzzReport:
    """What a schemathesis run did: requests and failed test cases per route, and its output."""

    returncode: int
    seconds: float
    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def total_requests(self) -> int:
        """Requests sent over the whole run."""
        return sum(self.requests.values())


def _route_of(method: str, url: str, templates: list[tuple[re.Pattern[str], str]]) -> str:
    path = urlsplit(url).path
    for pattern, template in templates:
        if pattern.fullmatch(path):
            return f"{method} {template}"
    return f"{method} (other)"


def _templates(openapi: dict[str, object]) -> list[tuple[re.Pattern[str], str]]:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    found = []
    for template in paths:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(pattern), template))
    return found


def fuzz(
    served: Served,
    reports: Path,
    *,
    seed: int,
    max_examples: int,
    workers: int = 1,
    max_time: float | None = None,
) -> FuzzReport:
    """Run ``schemathesis run`` with every check against ``served``; its reports go to ``reports``.

    ``max_examples`` bounds the test cases per operation and phase; ``max_time`` (seconds), when
    given, the whole run.
    """
    reports.mkdir(parents=True, exist_ok=True)
    config = reports / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(SCHEMATHESIS),
        *("--config-file", str(config)),
        "run",
        f"{served.base}/openapi.json",
        *("--checks", "all"),
        *("--seed", str(seed)),
        *("--max-examples", str(max_examples)),
        *("--workers", str(workers)),
        *("--header", f"Authorization: Bearer {served.token}"),
        *("--report", "har,junit"),
        *("--report-dir", str(reports)),
        *("--request-timeout", "30"),
        *(("--max-time", f"{max_time:g}") if max_time is not None else ()),
        *("--generation-database", "none"),
        "--no-color",
        "--output-sanitize",
        "true",
    ]
    templates = _templates(httpx.get(f"{served.base}/openapi.json").json())
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=reports)
    report = FuzzReport(done.returncode, time.perf_counter() - started, output=done.stdout)
    assert list(reports.glob("har-*.json")), done.stdout[-3000:] + done.stderr[-3000:]
    har = json.loads(next(reports.glob("har-*.json")).read_text())
    for entry in har["log"]["entries"]:
        request = entry["request"]
        report.requests[_route_of(request["method"], request["url"], templates)] += 1
    junit = ElementTree.parse(next(reports.glob("junit-*.xml")))
    for case in junit.iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            report.failures[str(case.get("name"))] += 1
            report.messages.append(f"{case.get('name')}: {failure.get('message') or failure.text}")
    return report
