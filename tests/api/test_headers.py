"""Security headers on every answer of the real application, and no cross-origin access."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serving

from valueloop.api.headers import inline_script_hashes
from valueloop.site import Site

ROUTES = [
    "/",
    "/healthz",
    "/docs",
    "/openapi.json",
    "/static/console.js",
    "/static/swagger/swagger-ui.css",
    "/api/assets",
    "/api/no-such-route",
]


def _assert_secured(headers: httpx.Headers, route: str) -> None:
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, route
    assert headers.get("X-Content-Type-Options") == "nosniff", route
    assert headers.get("X-Frame-Options") == "DENY", route
    assert headers.get("Referrer-Policy") == "no-referrer", route


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_carries_the_headers_and_no_hsts_over_http(
    client: TestClient, tokens: dict[str, str], route: str
) -> None:
    answer = client.get(route, headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert answer.status_code in (200, 404), route
    _assert_secured(answer.headers, route)
    assert "Strict-Transport-Security" not in answer.headers


def test_refusals_carry_the_headers_too(client: TestClient) -> None:
    refused = client.get("/api/assets")
    assert refused.status_code == 401
    _assert_secured(refused.headers, "/api/assets")


def test_hsts_only_over_tls(client: TestClient) -> None:
    answer = client.get("https://testserver/healthz")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    _assert_secured(answer.headers, "/healthz")


def test_only_the_docs_page_allows_its_own_inline_script_by_hash(client: TestClient) -> None:
    docs = client.get("/docs")
    hashes = inline_script_hashes(docs.content)
    assert len(hashes) == 1
    assert f"script-src 'self' '{hashes[0]}';" in docs.headers["Content-Security-Policy"]
    page = client.get("/")
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert hashes[0] not in page.headers["Content-Security-Policy"]


def test_cross_origin_requests_are_not_allowed(client: TestClient, tokens: dict[str, str]) -> None:
    preflight = client.options(
        "/api/assets",
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    simple = client.get(
        "/api/assets",
        headers={
            "Origin": "https://elsewhere.example",
            "Authorization": f"Bearer {tokens['viewer']}",
        },
    )
    assert simple.status_code == 200 and "Access-Control-Allow-Origin" not in simple.headers


@pytest.mark.browser
def test_the_docs_render_under_their_policy_in_a_browser(site: Site) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    refused: list[str] = []
    with serving(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.on(
                "console",
                lambda message: (
                    refused.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            page.goto(f"{base}/docs")
            page.wait_for_selector(".swagger-ui .info .title")
            assert "valueloop" in page.inner_text(".swagger-ui .info .title")
            page.wait_for_selector(".opblock-tag-section")
        finally:
            browser.close()
    assert refused == []
