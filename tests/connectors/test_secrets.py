"""Connector passwords from the environment or a private file: validated in site.yaml, read when
the connector starts, refused with an error that names the variable or file and never the secret;
logged in with against a real Mosquitto that requires a password."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.connectors.brokers import PREFIX, Broker, shipped_config
from tests.connectors.brokers import mqtt_spec as spec
from tests.connectors.fieldsources import gather_until, wait_connected

from valueloop.config import connector_specs
from valueloop.connectors.mqtt import MqttSource
from valueloop.connectors.opcua import OpcUaSpec
from valueloop.connectors.opcua.session import open_spec_client
from valueloop.connectors.secrets import resolve_secret
from valueloop.errors import ConnectorError

SECRET = "s3cret-Passw0rd"
POINTS = [{"topic": "plant/pump-1/{signal}", "series": "pump-1/{signal}"}]


def _opcua(**login: Any) -> OpcUaSpec:
    entry = {
        "name": "pump-opcua",
        "kind": "opcua",
        "prefix": PREFIX,
        "endpoint": "opc.tcp://127.0.0.1:1",
        "username": "operator",
        "points": [{"node": "ns=2;s=Pump1.Pressure", "series": "pump1/pressure"}],
        **login,
    }
    (validated,) = connector_specs([entry])
    assert isinstance(validated, OpcUaSpec)
    return validated


def _secret_file(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "mqtt.password"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    "login",
    [
        {"password": SECRET, "password_env": "PUMP_PASSWORD"},
        {"password_env": "PUMP_PASSWORD", "password_file": "/run/secrets/pump"},
        {"password": SECRET, "password_file": "/run/secrets/pump"},
    ],
)
def test_a_password_is_given_at_most_one_way(login: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="at most one of password, password_env and") as err:
        _opcua(**login)
    assert SECRET not in str(err.value)
    with pytest.raises(ValidationError, match="at most one of password, password_env and"):
        spec(1883, POINTS, username="edge", **login)


def test_an_environment_variable_name_is_checked() -> None:
    with pytest.raises(ValidationError, match="password_env"):
        _opcua(password_env="PUMP PASSWORD")


def test_each_way_gives_the_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PUMP_PASSWORD", SECRET)
    assert resolve_secret(_opcua(password=SECRET)) == SECRET
    assert resolve_secret(_opcua(password_env="PUMP_PASSWORD")) == SECRET
    written = _secret_file(tmp_path, f"{SECRET}\n")
    assert resolve_secret(_opcua(password_file=str(written))) == SECRET
    assert resolve_secret(_opcua()) is None


def test_a_missing_variable_is_named_and_stops_the_session_before_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PUMP_PASSWORD", raising=False)
    with pytest.raises(ConnectorError, match="password_env names PUMP_PASSWORD, which is not set"):
        asyncio.run(open_spec_client(_opcua(password_env="PUMP_PASSWORD")))


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        (
            SECRET,
            0o644,
            r"is open to group or others \(mode 0644\); make it private with chmod 600",
        ),
        (SECRET, 0o640, r"is open to group or others \(mode 0640\)"),
        ("\n", 0o600, "is empty"),
    ],
)
def test_an_unsafe_or_empty_file_is_refused(
    tmp_path: Path, text: str, mode: int, message: str
) -> None:
    path = _secret_file(tmp_path, text, mode)
    with pytest.raises(ConnectorError, match=message) as err:
        resolve_secret(_opcua(password_file=str(path)))
    assert str(path) in str(err.value) and SECRET not in str(err.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    named = f"password_file {re.escape(str(missing))} does not exist"
    with pytest.raises(ConnectorError, match=named):
        resolve_secret(_opcua(password_file=str(missing)))


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto that lets only user ``edge`` with :data:`SECRET` in."""
    folder = tmp_path / "broker"
    folder.mkdir()
    passwords = folder / "passwd"

    def secured(port: int, state: Path) -> str:
        text = shipped_config(port, state).replace("allow_anonymous true", "allow_anonymous false")
        return f"{text}\npassword_file {passwords}\n"

    broker = Broker(folder, secured)
    passwords.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "edge", SECRET], check=True)
    broker.start()
    yield broker
    broker.stop()


async def _connects(source: MqttSource) -> None:
    task = asyncio.create_task(gather_until(source, lambda got: False, timeout=0.5))
    await wait_connected(source)
    await task
    await source.stop()


@pytest.mark.services
def test_mqtt_logs_in_with_a_password_from_the_environment_or_a_file(
    secured_broker: Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MQTT_PASSWORD", SECRET)
    from_env = spec(secured_broker.port, POINTS, username="edge", password_env="MQTT_PASSWORD")
    written = _secret_file(tmp_path, SECRET + "\n")
    from_file = spec(secured_broker.port, POINTS, username="edge", password_file=str(written))
    for login in (from_env, from_file):
        source = MqttSource(login)
        asyncio.run(_connects(source))
        assert source.status().last_error is None
        assert SECRET not in repr(login) and SECRET not in str(login.model_dump())
    monkeypatch.setenv("MQTT_PASSWORD", "wrong")
    refused = MqttSource(from_env)

    async def refusing() -> None:
        await gather_until(refused, lambda got: False, timeout=1.0)
        await refused.stop()

    asyncio.run(refusing())
    assert "refused" in (refused.status().last_error or "")
    monkeypatch.delenv("MQTT_PASSWORD")
    with pytest.raises(ConnectorError, match="password_env names MQTT_PASSWORD"):
        MqttSource(from_env)
