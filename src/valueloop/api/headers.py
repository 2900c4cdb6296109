"""Security headers on every answer: the console page, the API, its docs and the static files.

Every response says what a browser may do with it: load and call only this server
(``Content-Security-Policy``), never be framed (``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``), never be sniffed into another type (``X-Content-Type-Options``) and
pass no referrer (the console's sign-in link carries a token). Over TLS it also tells the
browser to use HTTPS only from then on (``Strict-Transport-Security``); over plain HTTP that
header would mean nothing, so it is left out.

The API docs page (Swagger UI, vendored under ``/static/swagger``) starts with one inline script;
its policy allows that script by its SHA-256 hash, read from the page when the headers are
installed, and no other inline script.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATH = "/docs"
HSTS = "max-age=31536000"
"""Strict-Transport-Security over TLS: HTTPS only for a year."""

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}
"""Only this server's files and calls; no framing, no ``<base>``, forms post only here."""

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""Headers every response carries besides its Content-Security-Policy."""

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def content_policy(*script_hashes: str) -> str:
    """The Content-Security-Policy, allowing besides this server's scripts the inline ones whose
    ``sha256-...`` hashes are given."""
    directives = dict(_POLICY)
    directives["script-src"] = " ".join(
        [directives["script-src"], *(f"'{digest}'" for digest in script_hashes)]
    )
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def inline_script_hashes(page: bytes) -> list[str]:
    """The ``sha256-<base64>`` CSP hashes of the inline ``<script>`` elements of ``page``."""
    return [
        "sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode("ascii")
        for script in _INLINE_SCRIPT.findall(page)
    ]


class SecurityHeaders:
    """Add the security headers to every HTTP response (replacing any the route set)."""

    def __init__(self, app: ASGIApp, docs_policy: str) -> None:
        self.app = app
        self.policy = content_policy()
        self.docs_policy = docs_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the start of its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.docs_policy if scope["path"] == DOCS_PATH else self.policy
        over_tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(HEADERS)
                headers["Content-Security-Policy"] = policy
                if over_tls:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _docs_page(app: FastAPI) -> bytes:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path == DOCS_PATH:
            page = route.endpoint()
            if isinstance(page, Response):
                return bytes(page.body)
    raise RuntimeError(f"install the security headers after the {DOCS_PATH} page is routed")


def install_security_headers(app: FastAPI) -> None:
    """Add the security headers to every response of ``app``; call it once the docs page is
    routed (its inline script is allowed by hash) and after middleware that answers by itself
    (a throttle's 429), so that those answers carry the headers too."""
    docs_policy = content_policy(*inline_script_hashes(_docs_page(app)))
    app.add_middleware(SecurityHeaders, docs_policy=docs_policy)
