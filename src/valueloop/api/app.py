"""The HTTP application: the REST API under ``/api``, the console at ``/`` and ``/healthz``.

Every ``/api`` route needs a bearer token of role ``viewer`` or above (see
:mod:`valueloop.api.auth`); proposing work orders needs
``operator``, deciding them ``approver``. The OpenAPI description, which declares every status
each route can answer and the one error shape (:mod:`valueloop.api.answers`), is served at
``/openapi.json`` and browsable at ``/docs``.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import version

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from valueloop.api.access import install_access_log
from valueloop.api.answers import DocumentedAPI
from valueloop.api.bodylimit import install_body_limit
from valueloop.api.errors import install_error_handlers
from valueloop.api.headers import install_security_headers
from valueloop.api.models import Health
from valueloop.api.requestid import install_request_id
from valueloop.api.routers import (
    alarms,
    anomalies,
    assets,
    audit,
    connectors,
    contracts,
    dashboards,
    deadletters,
    events,
    ingest,
    jobs,
    ledger,
    me,
    measurements,
    plans,
    predictions,
    series,
    siteinfo,
    summary,
    tree,
    trends,
    users,
    value,
    workorders,
)
from valueloop.api.signin import require
from valueloop.api.throttle import FAILURES, Throttle, install_throttle
from valueloop.api.timeout import REQUEST_TIMEOUT, install_request_timeout
from valueloop.console.routes import mount_console
from valueloop.site import Site

ROUTERS = (
    me.router,
    siteinfo.router,
    tree.router,
    assets.router,
    series.router,
    predictions.router,
    plans.router,
    workorders.router,
    ledger.router,
    measurements.router,
    value.router,
    contracts.router,
    audit.router,
    deadletters.router,
    connectors.router,
    anomalies.router,
    alarms.router,
    jobs.router,
    summary.router,
    users.router,
    trends.router,
    events.router,
    dashboards.router,
)

_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s]*")


class RedactTokens(logging.Filter):
    """Hides ``token=...`` query values (the console's sign-in link) in access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's arguments; keep the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactTokens) for existing in access.filters):
        access.addFilter(RedactTokens())


def create_app(
    site: Site, *, request_timeout: float = REQUEST_TIMEOUT, refused_tokens: int = FAILURES
) -> FastAPI:
    """The API and console application serving ``site``.

    A request not answered within ``request_timeout`` seconds is answered 408 or 504 (see
    :mod:`valueloop.api.timeout`); an address whose tokens are refused ``refused_tokens`` times
    within a minute is barred for a minute (see :mod:`valueloop.api.throttle`).
    """
    app = DocumentedAPI(
        title="valueloop",
        version=version("valueloop"),
        summary="Assets, predictions, plans, work orders and the value ledger of a site.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.site = site
    install_error_handlers(app)
    install_body_limit(app)
    install_request_timeout(app, request_timeout)
    install_request_id(app)
    viewer = [Depends(require("viewer"))]
    for router in ROUTERS:
        app.include_router(router, prefix="/api", dependencies=viewer)
    app.include_router(ingest.router, prefix="/api")

    @app.get("/healthz", tags=["health"])
    def healthz() -> Health:
        """Liveness; needs no token."""
        return Health()

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI from the vendored files, so the docs work without the internet."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="valueloop API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    mount_console(app)
    install_throttle(app, Throttle(failures=refused_tokens))
    install_security_headers(app)
    install_access_log(app)
    _redact_access_log()
    return app
