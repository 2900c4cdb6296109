"""The request timeout: no slow client and no slow handler holds the server's attention forever.

One value, :data:`REQUEST_TIMEOUT` seconds unless ``valueloop serve --request-timeout`` gives
another, bounds each request three ways:

- its request line and headers must arrive within it, or the connection is closed
  (:func:`timed_protocol`, a slow-loris client sending its headers a byte at a time);
- its body must arrive within it, counted from when its headers did: a client still sending
  then is answered 408 and the connection closed (:class:`RequestTimeout`);
- the answer must start within it: a handler still working then is answered 504 and the
  connection closed. A handler running in a worker thread cannot be stopped, so its work may
  still complete (a batch sent again with its ``Idempotency-Key`` is stored once); its late
  answer is dropped.

An answer that has started (a large page of points, say) is not cut. Both answers are in the one
error shape (:class:`~valueloop.api.errors.ErrorOut`) with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valueloop.api.errors import error_response

if TYPE_CHECKING:
    from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_TIMEOUT = 60.0
"""Seconds a request may take to arrive and to be answered (see the module's description)."""


class RequestTimeout:
    """ASGI middleware answering 408 or 504 when a request is not answered within ``seconds``."""

    def __init__(self, app: ASGIApp, seconds: float = REQUEST_TIMEOUT) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; answer for it if it is not answered in time."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = cut = reading = False
        failure: Exception | None = None
        done = anyio.Event()

        async def receive_noting_wait() -> Message:
            nonlocal reading
            reading = True
            try:
                return await receive()
            finally:
                reading = False

        async def send_unless_cut(message: Message) -> None:
            nonlocal started
            if cut:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def serve() -> None:
            nonlocal failure
            try:
                await self.app(scope, receive_noting_wait, send_unless_cut)
            except Exception as exc:
                failure = exc
            finally:
                done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(serve)
            with anyio.move_on_after(self.seconds):
                await done.wait()
            if not done.is_set() and not started:
                cut = True
                await self._answer(scope, receive, send, body_late=reading)
                group.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _answer(self, scope: Scope, receive: Receive, send: Send, *, body_late: bool) -> None:
        limit = f"{self.seconds:g} s"
        if body_late:
            status, detail = 408, f"the request's body did not arrive within {limit}"
        else:
            status = 504
            detail = (
                f"the answer was not ready within {limit}; the work may still complete "
                "(send a batch again with its Idempotency-Key: it is stored once)"
            )
        answer = error_response(scope, status, detail, headers={"Connection": "close"})
        await answer(scope, receive, send)


def install_request_timeout(app: FastAPI, seconds: float = REQUEST_TIMEOUT) -> None:
    """Answer 408 or 504 for requests to ``app`` not answered within ``seconds``."""
    app.add_middleware(RequestTimeout, seconds=seconds)
    app.state.request_timeout = seconds


def timed_protocol(seconds: float = REQUEST_TIMEOUT) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request line and headers do not
    arrive within ``seconds`` of it opening or of the previous answer."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        """H11Protocol with a deadline for each request's line and headers."""

        header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._start_header_timer()

        def _start_header_timer(self) -> None:
            self._stop_header_timer()
            self.header_timer = self.loop.call_later(seconds, self._headers_late)

        def _stop_header_timer(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def _headers_late(self) -> None:
            self.header_timer = None
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return TimedH11Protocol
