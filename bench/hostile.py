"""Hostile input replayed against a real ``valueloop serve`` and a real Mosquitto.

Each case sends one hostile input (an HTTP body, a query, a flood of bad tokens, an MQTT or
Sparkplug message), then a valid reading beside it, and records the answer, the time to the
answer, the server's peak memory growth during the case (its RSS sampled every 5 ms), whether the
server still answers ``/healthz``, and whether the valid reading was stored (data lost = no).

    python bench/hostile.py            # every case, table printed, bench/results/hostile.json

docs/security.md shows the latest table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

from common import write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.connectors.peers import free_port
from tests.ingest.payloads import bomb, stream

from valueloop.api.auth import issue_token
from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.ingest.wire import ARROW_TYPE, MAX_BODY_BYTES
from valueloop.schema import READING_SCHEMA
from valueloop.site import open_site

MIB = 2**20
SITE = """
site: {{name: works}}
asset_types:
  pump:
    signals: {{flow: {{unit: l/min}}, pressure: {{unit: bar}}}}
assets:
  - {{path: pumping/line-1/pump-1, type: pump}}
connectors:
  - name: field-mqtt
    kind: mqtt
    prefix: works/pumping/line-1
    port: {mqtt_port}
    client_id: valueloop-hostile-{run}
    points:
      - {{topic: hostile-{run}/pump-1/flow, series: pump-1/flow}}
  - name: field-sparkplug
    kind: sparkplug
    prefix: works/pumping/line-1
    port: {mqtt_port}
    client_id: valueloop-hostile-spb-{run}
    host_id: hostile-{run}
    groups: [hostile-{run}]
    points:
      - {{metric: "hostile-{run}/node-1//pressure", series: pump-1/pressure}}
"""
FLOW = "works/pumping/line-1/pump-1/flow"
PRESSURE = "works/pumping/line-1/pump-1/pressure"


@dataclass
class Case:
    """One hostile input and what the server did with it."""

    case: str
    sent: str
    answer: str
    seconds: float
    peak_mib: float
    server_up: bool
    data_lost: bool


class Rss:
    """The peak resident memory of process ``pid`` while a case runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def now_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    @contextmanager
    def growth(self) -> Iterator[list[float]]:
        """Yields a one-item list that holds the peak growth over the start, in MiB, on exit."""
        start = self.now_mib()
        peak = [start]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], self.now_mib())
                except OSError:
                    return
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = [0.0]
        try:
            yield result
        finally:
            done.set()
            sampler.join()
            result[0] = round(peak[0] - start, 1)


@dataclass
class Server:
    """A served site: its folder, process, address and tokens."""

    folder: Path
    process: subprocess.Popen[bytes]
    base: str
    port: int
    tokens: dict[str, str]
    series: dict[str, int]
    run: str

    def client(self, user: str = "edge") -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
            timeout=120,
        )

    def up(self) -> bool:
        if self.process.poll() is not None:
            return False
        try:
            return httpx.get(f"{self.base}/healthz", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def stored_at(self, path: str, ts: datetime) -> bool:
        """Whether the reading of ``path`` at ``ts`` is in the store (within 10 s of waiting)."""
        deadline = time.monotonic() + 10
        with self.client("viewer") as client:
            while time.monotonic() < deadline:
                answer = client.get(
                    f"/api/series/{self.series[path]}/points",
                    params={
                        "start": ts.isoformat(),
                        "end": (ts + timedelta(seconds=1)).isoformat(),
                    },
                )
                if answer.status_code == 200 and answer.json()["points"]:
                    return True
                time.sleep(0.1)
        return False


def launch(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Start ``valueloop serve`` on the site of ``folder``, its output appended to serve.log."""
    command = [sys.executable, "-m", "valueloop", "serve", "--data-dir", str(folder / "data")]
    with (folder / "serve.log").open("ab") as log:
        return subprocess.Popen(
            [*command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
        )


def wait_up(server: Server) -> None:
    deadline = time.monotonic() + 90
    while not server.up():
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit((server.folder / "serve.log").read_text()[-3000:])
        time.sleep(0.1)


def start(folder: Path, mqtt_port: int) -> Server:
    run = os.urandom(3).hex()
    (folder / "site.yaml").write_text(SITE.format(mqtt_port=mqtt_port, run=run))
    site = open_site(folder / "site.yaml", folder / "data")
    tokens = {
        "edge": issue_token(site.store, "edge", "ingest"),
        "viewer": issue_token(site.store, "viewer", "viewer"),
    }
    ids = site.registry.lookup([FLOW, PRESSURE])
    series = dict(
        zip(ids.column("path").to_pylist(), ids.column("series_id").to_pylist(), strict=True)
    )
    site.close()
    port = free_port()
    server = Server(
        folder, launch(folder, port), f"http://127.0.0.1:{port}", port, tokens, series, run
    )
    wait_up(server)
    return server


def detail(answer: httpx.Response) -> str:
    """The status and the first words of the error an answer names."""
    try:
        body = answer.json()
    except ValueError:
        return f"{answer.status_code}"
    text = body.get("detail", "") if isinstance(body, dict) else ""
    if isinstance(text, list):
        text = "; ".join(str(item.get("msg", item)) for item in text)
    text = str(text)
    return f"{answer.status_code} {text[:70]}{'...' if len(text) > 70 else ''}".strip()


_clock = [datetime(2026, 3, 1, tzinfo=UTC)]


def fresh_time() -> datetime:
    """A reading time no case used before."""
    _clock[0] += timedelta(minutes=1)
    return _clock[0]


def valid_beside(server: Server) -> bool:
    """Send one valid reading over HTTP; whether it was stored."""
    ts = fresh_time()
    with server.client() as client:
        client.post("/api/ingest", json=[{"series": FLOW, "ts": ts.isoformat(), "value": 1.0}])
    return server.stored_at(FLOW, ts)


def http_case(
    server: Server, rss: Rss, case: str, sent: str, send: Callable[[httpx.Client], httpx.Response]
) -> Case:
    with server.client() as client, rss.growth() as peak:
        started = time.perf_counter()
        answer = send(client)
        seconds = time.perf_counter() - started
    return Case(case, sent, detail(answer), seconds, peak[0], server.up(), not valid_beside(server))


def json_body(client: httpx.Client, body: bytes, kind: str = "application/json") -> httpx.Response:
    return client.post("/api/ingest", content=body, headers={"Content-Type": kind})


def ts_reading(ts: str) -> bytes:
    return f'[{{"series": "{FLOW}", "ts": {ts}, "value": 1}}]'.encode()


def http_cases(server: Server, rss: Rss) -> list[Case]:
    arrow_bomb = bomb(1600 * 10**6)
    cases = [
        http_case(
            server,
            rss,
            "Arrow decompression bomb",
            f"{len(arrow_bomb) // 1024} KiB zstd stream, 1.6 GB decoded",
            lambda c: json_body(c, arrow_bomb, ARROW_TYPE),
        )
    ]
    for sent, body, kind in [
        ("ts NaN", ts_reading("NaN"), "application/json"),
        ("ts 1e18 ms", ts_reading("1e18"), "application/json"),
        ("ts -1e15 ms", ts_reading("-1e15"), "application/json"),
        ("ts 1e300", ts_reading("1e300"), "application/json"),
        ("ts 2^70", ts_reading(str(2**70)), "application/json"),
        ("ts 0001-01-01T00:00+14:00", ts_reading('"0001-01-01T00:00+14:00"'), "application/json"),
        ("CSV ts 1e20", f"series,ts,value\n{FLOW},1e20,1\n".encode(), "text/csv"),
        ("JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ]:
        cases.append(
            http_case(
                server,
                rss,
                "bad time or shape",
                sent,
                lambda c, body=body, kind=kind: json_body(c, body, kind),
            )
        )
    cases.append(
        http_case(
            server,
            rss,
            "absurd interval",
            "downsample every=999999999999d",
            lambda c: c.get(
                f"/api/series/{server.series[FLOW]}/downsample",
                params={"every": "999999999999d"},
                headers={"Authorization": f"Bearer {server.tokens['viewer']}"},
            ),
        )
    )
    cases.append(declared_too_large(server, rss))
    cases.append(
        http_case(
            server,
            rss,
            "streamed body over the limit",
            f"{MAX_BODY_BYTES // MIB + 44} MiB chunked",
            lambda c: c.post(
                "/api/ingest",
                content=(b" " * MIB for _ in range(MAX_BODY_BYTES // MIB + 44)),
            ),
        )
    )
    cases.append(
        http_case(
            server,
            rss,
            "series declaration flood",
            "100,000 series in one call",
            lambda c: c.post(
                "/api/ingest/series",
                json={"series": [{"path": f"works/x/y/z/s{i}"} for i in range(100_000)]},
            ),
        )
    )
    cases.append(points_unpaged(server, rss))
    cases.append(slow_headers(server, rss))
    cases.extend(idempotency(server, rss))
    return cases


def declared_too_large(server: Server, rss: Rss) -> Case:
    """A Content-Length over the limit: the 413 comes before the body is sent."""
    size = MAX_BODY_BYTES + 44 * MIB
    head = (
        "POST /api/ingest HTTP/1.1\r\nHost: valueloop\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {server.tokens['edge']}\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=30) as link,
        rss.growth() as p,
    ):
        started = time.perf_counter()
        link.sendall(head)
        answer = link.recv(65536)
        seconds = time.perf_counter() - started
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace").removeprefix("HTTP/1.1 ")
    body = answer.split(b"\r\n\r\n", 1)[-1]
    try:
        said = json.loads(body).get("detail", "")
    except ValueError:
        said = ""
    text = f"{status.split()[0]} {str(said)[:70]}".strip()
    sent = f"Content-Length {size // MIB} MiB"
    return Case(
        "body declared too large", sent, text, seconds, p[0], server.up(), not valid_beside(server)
    )


def slow_headers(server: Server, rss: Rss) -> Case:
    """A client that sends half a request line's headers and then nothing (slow loris)."""
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=300) as link,
        rss.growth() as p,
    ):
        started = time.perf_counter()
        link.sendall(b"GET /healthz HTTP/1.1\r\nHost: valueloop\r\n")
        closed = link.recv(65536) == b""
        seconds = time.perf_counter() - started
    said = "connection closed by the server" if closed else "the server answered"
    return Case("slow client", "headers never finished", said, seconds, p[0], server.up(),
                not valid_beside(server))  # fmt: skip


def points_unpaged(server: Server, rss: Rss) -> Case:
    """1.72 million points of one series read by a viewer without a limit: one page comes back."""
    count = 1_720_000
    first = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    table = pa.table(
        {
            "series": pa.array([PRESSURE] * count, pa.string()),
            "ts": pa.array(range(first, first + count * 1_000_000, 1_000_000), pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "value": pa.array([1.0] * count),
            "quality": pa.array([0] * count, pa.uint8()),
        },
        schema=READING_SCHEMA,
    )
    with server.client() as client:
        for offset in range(0, count, 500_000):
            body = stream([table.slice(offset, 500_000)])
            sent = client.post("/api/ingest", content=body, headers={"Content-Type": ARROW_TYPE})
            assert sent.status_code == 200, sent.text
    with server.client("viewer") as client, rss.growth() as peak:
        started = time.perf_counter()
        answer = client.get(f"/api/series/{server.series[PRESSURE]}/points")
        seconds = time.perf_counter() - started
    rows = len(answer.json()["points"])
    said = f"{answer.status_code} {rows:,} points, X-Next-Cursor {'set' if answer.headers.get('X-Next-Cursor') else 'absent'}"  # noqa: E501
    return Case(
        "points without paging",
        "1.72 M points, no limit",
        said,
        seconds,
        peak[0],
        server.up(),
        not valid_beside(server),
    )


def idempotency(server: Server, rss: Rss) -> list[Case]:
    """A key reused with another body, and 50 concurrent requests with one new key."""
    key = {"Idempotency-Key": f"bench-{os.urandom(4).hex()}"}
    first = [{"series": FLOW, "ts": fresh_time().isoformat(), "value": 1.0}]
    other = [{"series": FLOW, "ts": fresh_time().isoformat(), "value": 2.0}]
    with server.client() as client:
        client.post("/api/ingest", json=first, headers=key)
    reused = http_case(
        server,
        rss,
        "idempotency key reused",
        "same key, another body",
        lambda c: c.post("/api/ingest", json=other, headers=key),
    )
    many = {"Idempotency-Key": f"bench-{os.urandom(4).hex()}"}
    batch = [{"series": FLOW, "ts": fresh_time().isoformat(), "value": 3.0}]
    with server.client() as client, ThreadPoolExecutor(50) as pool, rss.growth() as peak:
        started = time.perf_counter()
        answers = list(
            pool.map(lambda _: client.post("/api/ingest", json=batch, headers=many), range(50))
        )
        seconds = time.perf_counter() - started
    fresh = sum(1 for answer in answers if answer.json().get("duplicate") is False)
    said = f"{sorted({a.status_code for a in answers})} stored once: {fresh == 1}"
    concurrent = Case(
        "idempotency race",
        "50 concurrent, one new key",
        said,
        seconds,
        peak[0],
        server.up(),
        not valid_beside(server),
    )
    return [reused, concurrent]


def bad_tokens(server: Server, rss: Rss) -> Case:
    """2,000 requests with made-up tokens from one address."""
    statuses: list[int] = []
    with httpx.Client(base_url=server.base, timeout=30) as client, rss.growth() as peak:
        started = time.perf_counter()
        for attempt in range(2000):
            headers = {"Authorization": f"Bearer vl_{attempt:08d}guess"}
            statuses.append(client.get("/api/me", headers=headers).status_code)
        seconds = time.perf_counter() - started
    first_429 = statuses.index(429) + 1 if 429 in statuses else None
    said = f"401 x{statuses.count(401)}, then 429 x{statuses.count(429)} (from try {first_429})"
    return Case("token guessing", "2,000 bad tokens", said, seconds, peak[0], server.up(), False)


def publish(port: int, topic: str, payload: bytes) -> None:
    """Publish one QoS 1 message and wait for the broker's acknowledgement."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{os.urandom(3).hex()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(60)
    client.loop_stop()
    client.disconnect()


def letters(server: Server) -> int:
    with server.client("viewer") as client:
        return int(client.get("/api/deadletters").json()["count"])


def mqtt_case(
    server: Server, rss: Rss, mqtt_port: int, case: str, sent: str, topic: str, payload: bytes
) -> Case:
    """Publish a hostile message, then a valid reading on the same topic; wait for both."""
    before = letters(server)
    ts = fresh_time()
    with rss.growth() as peak:
        started = time.perf_counter()
        publish(mqtt_port, topic, payload)
        publish(
            mqtt_port,
            f"hostile-{server.run}/pump-1/flow",
            json.dumps({"ts": ts.isoformat(), "value": 1}).encode(),
        )
        stored = server.stored_at(FLOW, ts)
        deadline = time.monotonic() + 10
        while letters(server) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    said = f"{letters(server) - before} dead letter(s)"
    return Case(case, sent, said, seconds, peak[0], server.up(), not stored)


def sparkplug_flood(metrics: int) -> bytes:
    """A DDATA payload of ``metrics`` named metrics."""
    payload = pb.Payload(timestamp=int(time.time() * 1000), seq=0)
    for index in range(metrics):
        metric = payload.metrics.add()
        metric.name, metric.datatype, metric.double_value = f"m{index}", 10, 1.0
    return payload.SerializeToString()


def mqtt_cases(server: Server, rss: Rss, mqtt_port: int) -> list[Case]:
    run = f"hostile-{server.run}"
    pairs = 1_500_000
    big = (
        "[" + ",".join(f"[{1772323200000 + i},{i % 97}.25]" for i in range(pairs)) + "]"
    ).encode()
    items = 150_000
    many = ("[" + ",".join(f"[{1772323200000 + i},1]" for i in range(items)) + "]").encode()
    flood = sparkplug_flood(120_000)
    return [
        mqtt_case(
            server,
            rss,
            mqtt_port,
            "MQTT payload over max_payload_bytes",
            f"{len(big) / 10**6:.1f} MB JSON, {pairs:,} pairs",
            f"{run}/pump-1/flow",
            big,
        ),
        mqtt_case(
            server,
            rss,
            mqtt_port,
            "MQTT items over max_items",
            f"{len(many) / 10**6:.1f} MB JSON, {items:,} pairs",
            f"{run}/pump-1/flow",
            many,
        ),
        mqtt_case(
            server,
            rss,
            mqtt_port,
            "Sparkplug metrics over max_items",
            f"{len(flood) / 10**6:.1f} MB DDATA, 120,000 metrics",
            f"spBv1.0/{run}/DDATA/node-1/dev",
            flood,
        ),
    ]


def restart_keeps_letters(server: Server) -> Case:
    """Stop and start the server: the oversized QoS 1 message is not delivered again."""
    before = letters(server)
    server.process.terminate()
    server.process.wait(60)
    started = time.perf_counter()
    again = restart(server)
    time.sleep(5)
    after = letters(again)
    said = f"{after - before} new dead letter(s) after restart"
    seconds = time.perf_counter() - started
    lost = not valid_beside(again)
    return Case(
        "redelivery after restart", "restart, session kept", said, seconds, 0.0, again.up(), lost
    )


def restart(server: Server) -> Server:
    server.process = launch(server.folder, server.port)
    wait_up(server)
    return server


def file_modes(folder: Path) -> dict[str, str]:
    """The permission bits of every file the server created under its data folder."""
    return {
        str(path.relative_to(folder)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in sorted((folder / "data").rglob("*"))
        if path.is_file()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--folder", type=Path, default=None, help="keep the site here")
    args = parser.parse_args()
    import tempfile

    folder = args.folder or Path(tempfile.mkdtemp(prefix="valueloop-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = start(folder, args.mqtt_port)
    rss = Rss(server.process.pid)
    baseline = rss.now_mib()
    try:
        cases = http_cases(server, rss)
        cases += mqtt_cases(server, rss, args.mqtt_port)
        cases.append(restart_keeps_letters(server))
        cases.append(bad_tokens(server, Rss(server.process.pid)))
        modes = file_modes(folder)
    finally:
        server.process.terminate()
        server.process.wait(60)
    table = Table(title=f"Hostile input against valueloop serve (RSS at rest {baseline:.0f} MiB)")
    for column in ("case", "sent", "answer", "s", "peak +MiB", "up", "lost"):
        table.add_column(column, justify="right" if column in {"s", "peak +MiB"} else "left")
    for case in cases:
        table.add_row(
            case.case,
            case.sent,
            case.answer,
            f"{case.seconds:.2f}",
            f"{case.peak_mib:.0f}",
            "yes" if case.server_up else "NO",
            "YES" if case.data_lost else "no",
        )
    Console(width=200).print(table)
    loose = {name: mode for name, mode in modes.items() if mode != "0o600"}
    Console().print(f"data files: {len(modes)}, not 0600: {loose or 'none'}")
    path = write_result(
        "hostile",
        {
            "rss_at_rest_mib": round(baseline, 1),
            "cases": [asdict(case) for case in cases],
            "file_modes": modes,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
