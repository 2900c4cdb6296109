"""Refused sign-ins: each one audited and counted, and an address with too many barred a while.

Every request whose bearer token is refused (malformed, unknown, wrong secret, revoked or expired;
not a request without a token) is logged on ``valueloop.access.auth`` with the reason, the
client's address, the id the token names if it names one (never its secret) and how many refusals
that address has had within the window. An address refused :data:`FAILURES` times within
:data:`WINDOW` seconds is barred for the next :data:`WINDOW` seconds: every request from it is
answered 429 with ``Retry-After``, a valid token's included, so that an address guessing tokens
learns nothing more until the bar ends. ``/healthz`` stays open.

The counts are kept in the server's memory, for at most :data:`ADDRESSES` addresses each (the
least recently refused are forgotten first), and start afresh when it restarts. The address is
the client's (:func:`~valueloop.api.access.client_address`): behind a reverse proxy that ``serve
--trusted-proxy`` does not name, every client shares the proxy's, and one guessing client bars them
all.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valueloop.api.access import client_address
from valueloop.api.auth import TokenRefused
from valueloop.api.errors import error_response
from valueloop.api.signin import refusal_of

audit = logging.getLogger("valueloop.access.auth")

FAILURES = 20
"""Refused sign-ins from one address within :data:`WINDOW` that bar it."""
WINDOW = 60.0
"""The window refusals are counted over, and how long an address stays barred, in seconds."""
ADDRESSES = 10_000
"""The most addresses whose refusals, and the most whose bars, are remembered."""

_OPEN_PATHS = frozenset({"/healthz"})
_T = TypeVar("_T")


class Throttle:
    """Refused sign-ins per client address, and the addresses barred for having too many.

    ``clock`` gives monotonic seconds; safe to use from several threads.
    """

    def __init__(
        self,
        *,
        failures: int = FAILURES,
        window: float = WINDOW,
        addresses: int = ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.window = window
        self.addresses = addresses
        self.clock = clock
        self._refused: OrderedDict[str, deque[float]] = OrderedDict()
        self._barred: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may be answered again, or ``None`` if it is not barred."""
        with self._lock:
            until = self._barred.get(address)
            if until is None:
                return None
            left = until - self.clock()
            if left <= 0:
                del self._barred[address]
                return None
            return left

    def refuse(self, address: str) -> int:
        """Count a refused sign-in from ``address``; return its refusals within the window.

        The refusal that makes :attr:`failures` bars the address for :attr:`window` seconds.
        """
        with self._lock:
            now = self.clock()
            times = self._refused.pop(address, None) or deque(maxlen=self.failures)
            while times and now - times[0] >= self.window:
                times.popleft()
            times.append(now)
            count = len(times)
            if count >= self.failures:
                _remember(self._barred, address, now + self.window, self.addresses)
            else:
                _remember(self._refused, address, times, self.addresses)
            return count


def _remember(entries: OrderedDict[str, _T], address: str, value: _T, most: int) -> None:
    entries.pop(address, None)
    entries[address] = value
    while len(entries) > most:
        entries.popitem(last=False)


class SignInThrottle:
    """ASGI middleware: answers barred addresses 429, audits and counts refused sign-ins."""

    def __init__(self, app: ASGIApp, throttle: Throttle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a barred address, else serve the request and count its refusal, if any."""
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        wait = self.throttle.retry_after(address)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            barred = error_response(
                scope,
                429,
                f"too many refused tokens from {address}; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
            await barred(scope, receive, send)
            return
        scope.setdefault("state", {})

        async def send_counting_refusal(message: Message) -> None:
            if message["type"] == "http.response.start":
                refused = refusal_of(scope)
                if refused is not None:
                    self._count(address, refused)
            await send(message)

        await self.app(scope, receive, send_counting_refusal)

    def _count(self, address: str, refused: TokenRefused) -> None:
        count = self.throttle.refuse(address)
        line = {
            "event": "token refused",
            "reason": refused.reason,
            "client": address,
            "token_id": refused.token_id,
            "refusals": count,
            "barred": count >= self.throttle.failures,
        }
        audit.warning(json.dumps(line))


def install_throttle(app: FastAPI, throttle: Throttle | None = None) -> Throttle:
    """Throttle refused sign-ins to ``app`` with ``throttle`` (the defaults above unless given)."""
    used = throttle if throttle is not None else Throttle()
    app.add_middleware(SignInThrottle, throttle=used)
    app.state.throttle = used
    return used
