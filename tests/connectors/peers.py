"""Field peers for the connector tests: a simulator script run as its own process on a free port.

A peer whose package is missing skips the test with the reason, or fails it under
``VALUELOOP_REQUIRE_SERVICES=1``. The process is terminated (then killed) when the test ends, and
can be stopped and started again on the same port to simulate a device restart.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import pytest
from tests.services import port_open, services_required

HERE = Path(__file__).parent


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def need_package(name: str) -> None:
    """Skip (or fail under VALUELOOP_REQUIRE_SERVICES=1) unless ``name`` can be imported."""
    if importlib.util.find_spec(name) is not None:
        return
    message = f"package {name} is not installed; the test peer needs it"
    if services_required():
        pytest.fail(f"{message}, and VALUELOOP_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


class PeerProcess:
    """``python <script> --port <port>``, started and stopped on demand."""

    def __init__(self, script: str, port: int | None = None, *extra: str) -> None:
        self.script = HERE / script
        self.port = port if port is not None else free_port()
        self.extra = extra
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the peer and wait until it accepts connections."""
        self._process = subprocess.Popen(
            [sys.executable, str(self.script), "--port", str(self.port), *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port, timeout=0.2):
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.script.name} exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.script.name} did not listen within {timeout} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the peer (kill it if it does not end within 5 s)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> PeerProcess:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
