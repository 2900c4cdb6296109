"""The request timeout: a client sending its headers or body too slowly, and a handler answering
too slowly, are cut with the documented answer while other requests are served."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.api.contract import Served, served_site
from tests.api.fleet import bearer
from tests.connectors.peers import free_port
from tests.e2e.processes import wait_for

from valueloop.api.errors import install_error_handlers
from valueloop.api.timeout import install_request_timeout, timed_protocol

TIMEOUT = 1.5


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_site(tmp_path_factory.mktemp("timeout"), request_timeout=TIMEOUT) as running:
        yield running


def connect(served: Served) -> socket.socket:
    host, port = served.base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def closed_after(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closed ``sock`` (within ``limit``), and what it sent first."""
    started = time.monotonic()
    received = b""
    sock.settimeout(limit)
    while chunk := sock.recv(65536):
        received += chunk
    return time.monotonic() - started, received


def test_headers_sent_too_slowly_close_the_connection(served: Served) -> None:
    sock = connect(served)
    started = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

    def trickle() -> None:
        try:
            for _ in range(20):
                time.sleep(0.25)
                sock.sendall(b"X")
        except OSError:
            pass

    sender = threading.Thread(target=trickle)
    sender.start()
    assert httpx.get(f"{served.base}/healthz", timeout=5).status_code == 200
    seconds, received = closed_after(sock, 10)
    sender.join()
    assert received == b""
    assert TIMEOUT - 0.2 < time.monotonic() - started < TIMEOUT + 2, seconds
    sock.close()


def test_a_body_sent_too_slowly_is_answered_408(served: Served) -> None:
    sock = connect(served)
    head = (
        "POST /api/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {served.token}\r\nContent-Length: 1000\r\n\r\n["
    )
    started = time.monotonic()
    sock.sendall(head.encode())
    answer = httpx.get(f"{served.base}/api/me", headers=bearer(served.token), timeout=5)
    assert answer.status_code == 200
    _, received = closed_after(sock, 10)
    elapsed = time.monotonic() - started
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", received[:200]
    assert b"connection: close" in rest.lower()
    assert b'"detail":"the request\'s body did not arrive within 1.5 s"' in rest
    assert b'"request_id":' in rest
    assert TIMEOUT - 0.2 < elapsed < TIMEOUT + 2
    sock.close()


def slow_app(seconds: float) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_request_timeout(app, seconds)

    @app.get("/slow")
    def slow() -> dict[str, str]:
        time.sleep(seconds * 3)
        return {"status": "late"}

    @app.get("/fast")
    def fast() -> dict[str, str]:
        return {"status": "ok"}

    return app


def test_an_answer_too_slow_is_a_504_while_others_are_served() -> None:
    port = free_port()
    config = uvicorn.Config(slow_app(1.0), port=port, log_level="warning", http=timed_protocol(1.0))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("the server", lambda: server.started, 10, every=0.05)
        with httpx.Client(base_url=base, timeout=10) as client:
            slow: list[httpx.Response] = []
            caller = threading.Thread(target=lambda: slow.append(client.get("/slow")))
            started = time.monotonic()
            caller.start()
            time.sleep(0.2)
            assert httpx.get(f"{base}/fast").json() == {"status": "ok"}
            caller.join()
            elapsed = time.monotonic() - started
        (answer,) = slow
        assert answer.status_code == 504
        assert answer.headers["connection"] == "close"
        assert answer.json()["detail"].startswith("the answer was not ready within 1 s")
        assert answer.json()["request_id"] == answer.headers.get(
            "X-Request-ID", answer.json()["request_id"]
        )
        assert 0.9 < elapsed < 2.5
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_serve_documents_its_timeout() -> None:
    from typer.testing import CliRunner

    from valueloop.cli.app import app

    answer = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert "--request-timeout" in answer.output
    assert "60.0" in answer.output
