"""``valueloop serve`` behind the reverse proxy of docs/security.md (a real nginx terminating TLS):
the API answers through it with HSTS, each client is known by its own address (so one guessing
client is barred and its neighbour is not), and a client's own ``X-Forwarded-For`` is ignored when
it talks to the server directly."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.cli.test_serve_tls import Pair, _openssl
from tests.connectors.peers import free_port
from tests.services import need_tool, port_open

from valueloop.api.auth import issue_token
from valueloop.api.throttle import FAILURES
from valueloop.site import open_site

SECURITY = Path(__file__).resolve().parents[2] / "docs" / "security.md"
SITE = """
site: {name: plant, timezone: UTC}
asset_types:
  pump:
    signals: {power: {unit: kW}}
assets:
  - {path: "pumping/line-1/pump-1", type: pump}
"""


def documented_server_block() -> str:
    """The nginx ``server`` block docs/security.md gives, exactly as written there."""
    (block,) = re.findall(r"```nginx\n(.*?)```", SECURITY.read_text(), re.S)
    return str(block)


@dataclass(frozen=True)
class Stack:
    """nginx on ``proxy`` (HTTPS) in front of ``valueloop serve`` on ``direct`` (HTTP)."""

    proxy: int
    direct: int
    cert: Path
    token: str
    log: Path
    folder: Path


def _wait(process: subprocess.Popen[bytes], port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", port, 0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def _serve(folder: Path, port: int, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """``valueloop serve`` of the site in ``folder`` on ``port``, its output in ``log``."""
    with log.open("w") as output:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "valueloop", "serve", "--data-dir", str(folder / "data")),
                *("--port", str(port), *options),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = need_tool("nginx", "apt-get install nginx-light", "it is the reverse proxy")
    folder = tmp_path_factory.mktemp("proxy")
    pair: Pair = _openssl(folder, "proxy", "-nodes")
    (folder / "site.yaml").write_text(SITE)
    site = open_site(folder / "site.yaml", folder / "data")
    token = issue_token(site.store, "ann", "viewer")
    site.close()
    direct, proxy = free_port(), free_port()
    server_block = (
        documented_server_block()
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{proxy} ssl;")
        .replace("127.0.0.1:8000", f"127.0.0.1:{direct}")
        .replace("/etc/valueloop/tls.crt", str(pair.cert))
        .replace("/etc/valueloop/tls.key", str(pair.key))
    )
    (folder / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/nginx.log warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {folder}/body;\n"
        f"  proxy_temp_path {folder}/proxy;\n{server_block}\n}}\n"
    )
    log = folder / "serve.log"
    served = _serve(folder, direct, log, "--trusted-proxy", "127.0.0.1")
    proxied = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(served, direct, "valueloop serve", log)
        _wait(proxied, proxy, "nginx", folder / "nginx.log")
        yield Stack(proxy, direct, pair.cert, token, log, folder)
    finally:
        proxied.terminate()
        served.terminate()
        proxied.wait(15)
        served.wait(15)


def client_from(stack: Stack, address: str) -> httpx.Client:
    """An HTTPS client of the proxy connecting from the loopback ``address``."""
    verify = ssl.create_default_context(cafile=stack.cert)
    transport = httpx.HTTPTransport(verify=verify, local_address=address)
    return httpx.Client(base_url=f"https://127.0.0.1:{stack.proxy}", transport=transport)


def test_the_api_answers_through_the_proxy_with_hsts(stack: Stack) -> None:
    with client_from(stack, "127.0.0.1") as client:
        answer = client.get("/api/me", headers={"Authorization": f"Bearer {stack.token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "ann"
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_each_client_behind_the_proxy_is_throttled_on_its_own(stack: Stack) -> None:
    guessing, neighbour = client_from(stack, "127.0.0.2"), client_from(stack, "127.0.0.3")
    with guessing, neighbour:
        statuses = [
            guessing.get("/api/me", headers={"Authorization": f"Bearer vl_{n:04d}x"}).status_code
            for n in range(FAILURES + 1)
        ]
        assert statuses == [401] * FAILURES + [429]
        answer = neighbour.get("/api/me", headers={"Authorization": f"Bearer {stack.token}"})
        assert answer.status_code == 200
    # the access line is written once the answer has gone out, a moment after the client has it
    deadline, lines = time.monotonic() + 5, ""
    while time.monotonic() < deadline:
        lines = stack.log.read_text()
        if '"client": "127.0.0.3"' in lines:
            break
        time.sleep(0.05)
    assert '"client": "127.0.0.2"' in lines and '"client": "127.0.0.3"' in lines


def test_a_direct_clients_forwarding_header_is_not_believed(stack: Stack) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    transport = httpx.HTTPTransport(local_address="127.0.0.4")
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.direct}", transport=transport) as client:
        answer = client.get("/healthz", headers=forged)
    assert answer.status_code == 200
    assert "Strict-Transport-Security" not in answer.headers
    assert "203.0.113.9" not in stack.log.read_text()


def test_without_a_trusted_proxy_no_forwarding_header_is_believed(stack: Stack) -> None:
    port, log = free_port(), stack.folder / "alone.log"
    alone = _serve(stack.folder / "alone", port, log, "--site", str(stack.folder / "site.yaml"))
    try:
        _wait(alone, port, "valueloop serve", log)
        forged = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", headers=forged)
    finally:
        alone.terminate()
        alone.wait(15)
    assert answer.status_code == 200
    assert "Strict-Transport-Security" not in answer.headers
    lines = log.read_text()
    assert '"client": "127.0.0.1"' in lines and "198.51.100.7" not in lines
