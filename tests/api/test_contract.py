"""The API contract: a bounded schemathesis run, every check, against a real ``valueloop serve``.

Every operation of the OpenAPI description is called with generated valid and invalid requests
under an admin's token (the site has no field connector, so nothing approved reaches a device).
The run must find no failure: no 5xx, no status, header or body the description does not declare,
no valid request refused for its shape, no invalid one accepted, no route answering without a
token. ``bench/api_fuzz.py`` runs the same with a larger budget.
"""

from __future__ import annotations

from pathlib import Path

from tests.api.contract import fuzz, served_site

SEED = 20_260_301
"""The run's fixed seed: the same requests every time."""
EXAMPLES = 15
"""Test cases per operation and phase: about a minute on two cores."""


def test_the_api_keeps_its_openapi_contract(tmp_path: Path) -> None:
    with served_site(tmp_path) as served:
        report = fuzz(served, tmp_path / "reports", seed=SEED, max_examples=EXAMPLES)
        assert served.process.poll() is None, "the server died under the run"
    failures = "\n".join(report.messages[:20])
    assert report.returncode == 0, f"{sum(report.failures.values())} failures:\n{failures}"
    assert not report.failures, failures
    assert report.total_requests > 1000
    routes = {route for route in report.requests if not route.endswith("(other)")}
    assert len(routes) >= 40, sorted(routes)
