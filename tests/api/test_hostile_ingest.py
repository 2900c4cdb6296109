"""Hostile input to ``POST /api/ingest`` of a real ``valueloop serve``: each is refused with the
documented 4xx naming the field or limit, the server's memory stays bounded, and the next valid
batch on the same keep-alive connection is stored. A fault no handler expected is a JSON 500 with
the request's id, and the connection stays usable.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from tests.api.fleet import bearer
from tests.connectors.peers import free_port
from tests.e2e.processes import server_of, wait_for
from tests.ingest.payloads import bomb

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.ingest.wire import ARROW_TYPE, MAX_BODY_BYTES, MAX_DECODED_BYTES
from valueloop.site import Site, open_site

SITE = """
site: {name: works}
asset_types:
  pump:
    signals: {flow: {unit: l/min}}
assets:
  - {path: pumping/line-1/pump-1, type: pump}
"""
FLOW = "works/pumping/line-1/pump-1/flow"
UNKNOWN = "works/pumping/line-1/pump-1/vibration"
MIB = 2**20


@dataclass(frozen=True)
class Served:
    """A running ``valueloop serve``: its address, process id, tokens and the flow's series id."""

    base: str
    port: int
    pid: int
    tokens: dict[str, str]
    flow_id: int

    def client(self, user: str = "edge-1") -> httpx.Client:
        """A keep-alive client sending ``user``'s token."""
        return httpx.Client(base_url=self.base, headers=bearer(self.tokens[user]), timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "site.yaml").write_text(SITE)
    site = open_site(folder / "site.yaml", folder / "data")
    tokens = {
        "edge-1": issue_token(site.store, "edge-1", "ingest"),
        "edge-2": issue_token(site.store, "edge-2", "ingest"),
        "ann": issue_token(site.store, "ann", "viewer"),
    }
    flow_id = int(site.registry.lookup([FLOW]).column("series_id")[0].as_py())
    site.close()
    with server_of(folder / "data") as server:
        yield Served(server.base, server.port, server.process.pid, tokens, flow_id)


def peak_rss_mib(pid: int) -> int:
    """The most memory the process ``pid`` has held so far (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) // 1024


def connection(answer: httpx.Response) -> tuple[str, int]:
    """The client's address of the connection ``answer`` came over."""
    address: tuple[str, int] = answer.extensions["network_stream"].get_extra_info("client_addr")
    return address


def one_reading(minute: int) -> list[dict[str, object]]:
    stamp = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minute)
    return [{"series": FLOW, "ts": stamp.isoformat(), "value": float(minute)}]


def assert_next_batch_is_stored(client: httpx.Client, refused: httpx.Response) -> None:
    """A valid batch sent next by ``client`` is stored, over the connection that was refused."""
    answer = client.post("/api/ingest", json=one_reading(7))
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 1
    assert connection(answer) == connection(refused)


def test_a_decompression_bomb_is_refused_in_bounded_memory(served: Served) -> None:
    body = bomb(1600 * 10**6)
    assert len(body) < 64 * 2**10
    before = peak_rss_mib(served.pid)
    with served.client() as client:
        answer = client.post("/api/ingest", content=body, headers={"Content-Type": ARROW_TYPE})
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(
            f"the Arrow stream decompresses to more than {MAX_DECODED_BYTES} bytes"
        )
        assert peak_rss_mib(served.pid) - before < 100
        assert_next_batch_is_stored(client, answer)


def reading_with(ts: str) -> bytes:
    return f'[{{"series": "{FLOW}", "ts": {ts}, "value": 1}}]'.encode()


@pytest.mark.parametrize(
    ("content_type", "body", "detail"),
    [
        ("application/json", reading_with("NaN"), "reading 1: ts nan is not epoch milliseconds"),
        ("application/json", reading_with("1e18"), "reading 1: ts 1e+18 is not epoch"),
        ("application/json", reading_with("-1e15"), "reading 1: ts -1000000000000000.0 is not"),
        ("application/json", reading_with("1e300"), "reading 1: ts 1e+300 is not epoch"),
        ("application/json", reading_with(str(2**70)), "reading 1: ts 1180591620717411303424"),
        (
            "application/json",
            reading_with('"0001-01-01T00:00+14:00"'),
            "reading 1: ts '0001-01-01T00:00+14:00' is outside 1970-2200",
        ),
        ("text/csv", f"series,ts,value\n{FLOW},1e20,1\n".encode(), "reading 1: ts 1e+20 is not"),
        ("application/json", b"[" * 50_000 + b"]" * 50_000, "the JSON body nests deeper than"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000, "the JSON body nests deeper than"),
    ],
)
def test_bad_times_and_deep_json_are_a_422_naming_them(
    served: Served, content_type: str, body: bytes, detail: str
) -> None:
    with served.client() as client:
        answer = client.post("/api/ingest", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(detail)
        assert_next_batch_is_stored(client, answer)


OUT_OF_RANGE = "the bucket width must be more than 0 and at most 10 years"


@pytest.mark.parametrize(
    ("every", "detail"),
    [
        ("999999999999d", "every: '999999999999d' is longer than a duration can be"),
        ("3654d", f"every='3654d': {OUT_OF_RANGE}"),
        ("0s", f"every='0s': {OUT_OF_RANGE}"),
        ("0.0001ms", f"every='0.0001ms': {OUT_OF_RANGE}"),
    ],
)
def test_a_downsampling_bucket_out_of_range_is_a_422(
    served: Served, every: str, detail: str
) -> None:
    path = f"/api/series/{served.flow_id}/downsample"
    with served.client("ann") as client:
        answer = client.get(path, params={"every": every})
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(detail)
        again = client.get(path, params={"every": "1h"})
        assert again.status_code == 200
        assert connection(again) == connection(answer)


def test_a_body_declared_too_large_is_a_413_before_it_is_sent(served: Served) -> None:
    size = MAX_BODY_BYTES + 44 * MIB
    good = json.dumps(one_reading(8)).encode()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as link:
        link.sendall(_request(served, size))
        started = time.perf_counter()
        head = link.recv(65536)
        assert head.startswith(b"HTTP/1.1 413 ")
        assert time.perf_counter() - started < 1
        chunk = b"x" * MIB
        for _ in range(size // MIB):
            link.sendall(chunk)
        link.sendall(_request(served, len(good)) + good)
        answer = head
        while b'"stored":1' not in answer:
            received = link.recv(65536)
            assert received, answer.decode(errors="replace")
            answer += received
    assert f"send at most {MAX_BODY_BYTES}".encode() in answer


def _request(served: Served, length: int) -> bytes:
    return (
        "POST /api/ingest HTTP/1.1\r\nHost: valueloop\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {served.tokens['edge-1']}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_streamed_body_is_a_413_once_it_passes_the_limit(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // MIB + 8):
            yield b" " * MIB

    before = peak_rss_mib(served.pid)
    with served.client() as client:
        answer = client.post("/api/ingest", content=chunks())
        assert answer.status_code == 413
        assert answer.json()["detail"] == (
            f"the body has more than {MAX_BODY_BYTES} bytes; split the batch"
        )
        assert peak_rss_mib(served.pid) - before < MAX_BODY_BYTES // MIB + 100
        assert_next_batch_is_stored(client, answer)


def dead_letters_pending(client: httpx.Client) -> int:
    counts = client.get("/api/deadletters").json()["counts"]
    return sum(count["pending"] for count in counts)


def test_fifty_concurrent_requests_with_one_new_key_store_once(served: Served) -> None:
    batch = [
        *(one_reading(1000 + minute)[0] for minute in range(100)),
        *({"series": UNKNOWN, "ts": 1772323200000 + minute, "value": 1.0} for minute in range(10)),
    ]
    with served.client("ann") as viewer:
        letters_before = dead_letters_pending(viewer)
        with served.client() as client, ThreadPoolExecutor(50) as pool:
            answers = list(
                pool.map(
                    lambda _: client.post(
                        "/api/ingest", json=batch, headers={"Idempotency-Key": "many-1"}
                    ),
                    range(50),
                )
            )
        assert {answer.status_code for answer in answers} == {200}
        outcomes = [answer.json() for answer in answers]
        assert sorted(outcome["duplicate"] for outcome in outcomes) == [False] + [True] * 49
        assert {(outcome["stored"], outcome["dead_letters"]) for outcome in outcomes} == {(100, 10)}
        assert dead_letters_pending(viewer) - letters_before == 10


def test_a_key_is_bound_to_its_body_and_its_sender(served: Served) -> None:
    first, other = one_reading(2000), one_reading(2001)
    key = {"Idempotency-Key": "bound-1"}
    with served.client() as client, served.client("edge-2") as second_sender:
        assert client.post("/api/ingest", json=first, headers=key).json()["duplicate"] is False
        reused = client.post("/api/ingest", json=other, headers=key)
        assert reused.status_code == 409
        assert reused.json()["detail"].startswith(
            "the idempotency key 'bound-1' was used for another batch"
        )
        again = client.post("/api/ingest", json=first, headers=key)
        assert (again.status_code, again.json()["duplicate"]) == (200, True)
        assert connection(again) == connection(reused)
        elsewhere = second_sender.post("/api/ingest", json=other, headers=key)
        assert (elsewhere.json()["duplicate"], elsewhere.json()["stored"]) == (False, 1)


@pytest.fixture
def faulty(site: Site) -> Iterator[str]:
    """The application with one more route that fails, served by uvicorn on a free port."""
    app = create_app(site)

    @app.get("/fault")
    def fault() -> None:
        raise RuntimeError("a fault no handler expects")

    server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for("uvicorn", lambda: server.started, 10, every=0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def test_an_unexpected_fault_is_a_json_500_with_the_request_id(
    faulty: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="valueloop.api.errors"),
        httpx.Client(base_url=faulty) as client,
    ):
        answer = client.get("/fault")
        assert answer.status_code == 500
        request_id = answer.headers["X-Request-ID"]
        assert answer.json() == {"detail": "internal error", "request_id": request_id}
        after = client.get("/healthz")
        assert after.status_code == 200
        assert connection(after) == connection(answer)
    (record,) = [record for record in caplog.records if request_id in record.getMessage()]
    assert record.exc_info is not None and "a fault no handler expects" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("sent", "kept"), [("abc-123.4:x_Y", True), ("a b", False), ("x" * 129, False)]
)
def test_a_request_id_is_kept_when_safe_and_made_otherwise(
    faulty: str, sent: str, kept: bool
) -> None:
    answer = httpx.get(f"{faulty}/fault", headers={"X-Request-ID": sent})
    request_id = answer.headers["X-Request-ID"]
    assert answer.json()["request_id"] == request_id
    assert (request_id == sent) is kept
    if not kept:
        assert len(request_id) == 32
    assert httpx.get(f"{faulty}/healthz").headers["X-Request-ID"] != request_id
