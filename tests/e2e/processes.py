"""Running the ``valueloop`` command as a user does: the demo, and a server to talk to."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def run_demo(folder: Path, *extra: str) -> dict[str, Any]:
    """Run ``valueloop demo --no-serve`` in ``folder``; return its JSON summary."""
    summary = folder / "summary.json"
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "valueloop", "demo", "--no-serve"),
            *("--summary", str(summary), "--data-dir", str(folder / "data"), *extra),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(summary.read_text())
    return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running ``valueloop serve``: its base URL, port, process and the file of its output."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def server_of(data: Path, *options: str, log: Path | None = None) -> Iterator[Server]:
    """``valueloop serve --data-dir data`` on a free port with ``options``, its output in ``log``
    (``serve.log`` beside ``data`` by default), once ``/healthz`` answers; stopped after."""
    port = _free_port()
    log = log or data.parent / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "valueloop", "serve", "--data-dir", str(data)),
                *("--port", str(port), *options),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    server = Server(f"http://127.0.0.1:{port}", port, process, log)

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            return httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for("valueloop serve", healthy, 90, every=0.05)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def serving(data: Path) -> Iterator[str]:
    """``valueloop serve`` on a free port for the site in ``data``; yields its base URL."""
    with server_of(data) as server:
        yield server.base


def wait_for(what: str, probe: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """Call ``probe`` every ``every`` s until it returns something true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
