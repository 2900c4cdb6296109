"""``valueloop serve --tls-cert --tls-key``: a real server process answering over HTTPS only, and
the files refused before anything starts when they are incomplete, missing or not private."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.connectors.peers import free_port
from tests.services import need_tool, port_open

from valueloop.cli.serve import TlsFiles, tls_files
from valueloop.errors import ConfigError

SITE = """
site: {name: plant, enterprise: acme, timezone: UTC, currency: EUR}
asset_types:
  pump:
    signals:
      power: {unit: kW}
assets:
  - {path: "pumping/line-1/pump-1", type: pump}
"""


@dataclass(frozen=True)
class Pair:
    """A self-signed certificate for 127.0.0.1 and its private key."""

    cert: Path
    key: Path


def _openssl(folder: Path, name: str, *extra: str) -> Pair:
    binary = need_tool("openssl", "apt-get install openssl", "it makes the certificates")
    pair = Pair(folder / f"{name}.crt", folder / f"{name}.key")
    subprocess.run(
        [
            *(binary, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-keyout", str(pair.key), "-out", str(pair.cert), "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", *extra),
        ],
        check=True,
        capture_output=True,
    )
    pair.key.chmod(0o600)
    return pair


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    """A self-signed certificate and its unencrypted key, ``chmod 600``."""
    return _openssl(tmp_path, "server", "-nodes")


def _valueloop(*args: str) -> list[str]:
    return [sys.executable, "-m", "valueloop", *args]


@contextmanager
def _serving_tls(folder: Path, pair: Pair) -> Iterator[int]:
    """``valueloop serve`` over HTTPS for a small site, on a free port; yields the port."""
    site = folder / "site.yaml"
    site.write_text(SITE)
    port = free_port()
    command = [
        *("serve", "--site", str(site), "--data-dir", str(folder / "data"), "--port", str(port)),
        *("--tls-cert", str(pair.cert), "--tls-key", str(pair.key)),
    ]
    server = subprocess.Popen(
        _valueloop(*command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                raise AssertionError(f"valueloop serve did not start: {output[-2000:]}")
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=15)
        if server.stdout is not None:
            server.stdout.close()


@pytest.mark.services
def test_serve_answers_over_https_with_hsts_and_not_over_http(tmp_path: Path, pair: Pair) -> None:
    trusted = ssl.create_default_context(cafile=str(pair.cert))
    with _serving_tls(tmp_path, pair) as port:
        health = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trusted, timeout=5)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert health.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert health.headers["X-Frame-Options"] == "DENY"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=5)


def test_checked_files_are_taken(pair: Pair) -> None:
    assert tls_files(pair.cert, pair.key) == TlsFiles(pair.cert, pair.key)
    assert tls_files(None, None) is None


@pytest.mark.parametrize("given", ["cert", "key"])
def test_one_file_without_the_other_is_refused(pair: Pair, given: str) -> None:
    with pytest.raises(ConfigError, match="give both --tls-cert and --tls-key"):
        tls_files(pair.cert if given == "cert" else None, pair.key if given == "key" else None)


def test_missing_files_are_named(pair: Pair, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigError, match=f"--tls-cert: cannot read {re.escape(str(missing))}"):
        tls_files(missing, pair.key)
    with pytest.raises(ConfigError, match=f"--tls-key: {re.escape(str(missing))} does not exist"):
        tls_files(pair.cert, missing)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_others_can_read_is_refused(pair: Pair, mode: int) -> None:
    pair.key.chmod(mode)
    with pytest.raises(
        ConfigError, match=f"--tls-key: {pair.key} is open to group or others"
    ) as err:
        tls_files(pair.cert, pair.key)
    assert f"chmod 600 {pair.key}" in str(err.value)


def test_an_encrypted_or_mismatched_key_is_refused(pair: Pair, tmp_path: Path) -> None:
    locked = _openssl(tmp_path, "locked", "-passout", "pass:not-given")
    with pytest.raises(ConfigError, match="is encrypted; give the key without a passphrase"):
        tls_files(locked.cert, locked.key)
    other = _openssl(tmp_path, "other", "-nodes")
    with pytest.raises(ConfigError, match="are not a PEM certificate and its private key"):
        tls_files(pair.cert, other.key)


def test_the_command_prints_the_refusal_and_starts_nothing(pair: Pair, tmp_path: Path) -> None:
    pair.key.chmod(0o644)
    refused = subprocess.run(
        _valueloop(
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--tls-cert",
            str(pair.cert),
            "--tls-key",
            str(pair.key),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300"},
        check=False,
    )
    assert refused.returncode == 2
    assert f"chmod 600 {pair.key}" in refused.stdout + refused.stderr
    assert not (tmp_path / "data").exists()
