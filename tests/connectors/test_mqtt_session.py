"""The MQTT link under the connectors, against real Mosquitto processes: QoS 1 messages kept by
the persistent session, reconnection after a broker crash, credentials and TLS."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from tests.connectors.brokers import Broker, Publisher, shipped_config
from tests.connectors.brokers import mqtt_spec as spec
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected
from tests.connectors.peers import free_port
from tests.services import need_tool

from valueloop.connectors.mqtt import MqttSource
from valueloop.errors import ConnectorError

pytestmark = pytest.mark.services


def test_qos1_messages_sent_while_the_connector_was_away_arrive(
    broker: Broker, publisher: Publisher
) -> None:
    points = [{"topic": "plant/pump-1/{signal}", "series": "pump-1/{signal}"}]
    sent = [("plant/pump-1/count", str(n).encode()) for n in range(300)]

    async def scenario() -> tuple[Gathered, Gathered]:
        first = MqttSource(spec(broker.port, points, batch_messages=100))
        task = asyncio.create_task(
            gather_until(first, lambda got: got.readings.num_rows >= 1, timeout=10)
        )
        await wait_connected(first)
        await asyncio.to_thread(publisher.publish, sent[:100])
        taken = await task  # the loop left with the last batch taken but not acknowledged
        await first.stop()
        await asyncio.to_thread(publisher.publish, sent[100:])
        second = MqttSource(spec(broker.port, points, batch_messages=100))
        again = await gather_until(
            second,
            lambda got: set(range(100, 300)) <= set(got.readings.column("value").to_pylist()),
            timeout=15,
        )
        await second.stop()
        return taken, again

    taken, again = asyncio.run(scenario())
    first_values = set(taken.readings.column("value").to_pylist())
    later_values = again.readings.column("value").to_pylist()
    assert set(range(100, 300)) <= set(later_values)
    # What the first connector took but did not acknowledge came again.
    assert first_values <= set(later_values)


def test_reconnects_and_resubscribes_after_a_broker_crash(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker").start()
    publisher = Publisher(broker.port)
    source = MqttSource(
        spec(broker.port, [{"topic": "plant/pump-1/{signal}", "series": "pump-1/{signal}"}])
    )

    async def scenario() -> Gathered:
        gathered = Gathered()
        task = asyncio.create_task(
            gather_until(source, lambda got: got.readings.num_rows >= 1, gathered=gathered)
        )
        await wait_connected(source)
        await asyncio.to_thread(publisher.publish, [("plant/pump-1/speed", b"1")])
        await task
        publisher.close()
        broker.stop(kill=True)  # a crash: the session was never saved
        await asyncio.sleep(0.3)
        assert not source.status().connected
        broker.start()
        task = asyncio.create_task(
            gather_until(source, lambda got: got.readings.num_rows >= 2, gathered=gathered)
        )
        await wait_connected(source, timeout=15)
        after = Publisher(broker.port)
        await asyncio.to_thread(after.publish, [("plant/pump-1/speed", b"2")])
        await task
        after.close()
        await source.stop()
        return gathered

    try:
        gathered = asyncio.run(scenario())
    finally:
        broker.stop()
    assert gathered.readings.column("value").to_pylist() == [1.0, 2.0]
    status = source.status()
    assert status.reconnects >= 1 and status.last_error is not None


def test_credentials_are_checked_and_never_shown(tmp_path: Path) -> None:
    folder = tmp_path / "broker"
    folder.mkdir()
    passwords = folder / "passwd"
    passwords.write_text("")
    subprocess.run(
        ["mosquitto_passwd", "-b", str(passwords), "edge", "s3cret-Passw0rd"], check=True
    )

    def secured(port: int, state: Path) -> str:
        text = shipped_config(port, state).replace("allow_anonymous true", "allow_anonymous false")
        return f"{text}\npassword_file {passwords}\n"

    broker = Broker(folder, secured).start()
    points = [{"topic": "plant/pump-1/{signal}", "series": "pump-1/{signal}"}]
    wrong = MqttSource(spec(broker.port, points, username="edge", password="wrong"))
    right = MqttSource(spec(broker.port, points, username="edge", password="s3cret-Passw0rd"))

    async def scenario() -> None:
        tasks = [
            asyncio.create_task(gather_until(source, lambda got: False, timeout=1.5))
            for source in (wrong, right)
        ]
        await wait_connected(right)
        await asyncio.gather(*tasks)
        assert not wrong.status().connected
        await wrong.stop()
        await right.stop()

    try:
        asyncio.run(scenario())
    finally:
        broker.stop()
    assert "refused" in (wrong.status().last_error or "")
    assert "s3cret" not in repr(right.spec) and "s3cret" not in str(right.spec.model_dump())


def _certificates(folder: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl CLI)."""
    openssl = need_tool("openssl", "apt-get install openssl", "the test makes its certificates")
    files = {name: folder / name for name in ("ca.key", "ca.crt", "server.key", "server.csr")}
    files["server.crt"] = folder / "server.crt"
    san = folder / "san.cnf"
    san.write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = ["-keyout", files["ca.key"], "-out", files["ca.crt"], "-subj", "/CN=valueloop test CA"]
    server = ["-keyout", files["server.key"], "-out", files["server.csr"], "-subj", "/CN=127.0.0.1"]
    sign = ["-in", files["server.csr"], "-CA", files["ca.crt"], "-CAkey", files["ca.key"]]
    commands = [
        ["req", "-x509", *ec, *ca, "-days", "1"],
        ["req", *ec, *server],
        ["x509", "-req", *sign, "-CAcreateserial", "-out", files["server.crt"], "-extfile", san],
    ]
    for command in commands:
        subprocess.run([openssl, *map(str, command)], check=True, capture_output=True)
    return files


def test_tls_to_the_broker(tmp_path: Path) -> None:
    files = _certificates(tmp_path)
    plain_port = free_port()

    def tls(port: int, state: Path) -> str:
        return (
            f"{shipped_config(port, state)}\ncafile {files['ca.crt']}\n"
            f"certfile {files['server.crt']}\nkeyfile {files['server.key']}\n"
            f"listener {plain_port} 127.0.0.1\n"
        )

    broker = Broker(tmp_path / "broker", tls).start()
    points = [{"topic": "plant/pump-1/{signal}", "series": "pump-1/{signal}"}]
    source = MqttSource(spec(broker.port, points, tls={"ca_file": str(files["ca.crt"])}))
    publisher = Publisher(plain_port)

    async def scenario() -> Gathered:
        task = asyncio.create_task(gather_until(source, lambda got: got.readings.num_rows >= 1))
        await wait_connected(source)
        await asyncio.to_thread(publisher.publish, [("plant/pump-1/speed", b"1450")])
        gathered = await task
        await source.stop()
        return gathered

    try:
        gathered = asyncio.run(scenario())
    finally:
        publisher.close()
        broker.stop()
    assert gathered.readings.column("value").to_pylist() == [1450.0]
    missing = tmp_path / "absent-ca.crt"
    with pytest.raises(ConnectorError, match="TLS files"):
        MqttSource(spec(broker.port, points, tls={"ca_file": str(missing)}))
