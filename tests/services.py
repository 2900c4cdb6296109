"""Local services for tests: use them when they run, skip with the reason when they do not.

With ``VALUELOOP_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service fails the test instead,
so continuous integration can never skip a service test silently.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest


def services_required() -> bool:
    """Whether missing services must fail the tests rather than skip them."""
    return os.environ.get("VALUELOOP_REQUIRE_SERVICES") == "1"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    """Skip (or fail under VALUELOOP_REQUIRE_SERVICES=1) unless ``name`` listens on host:port."""
    if port_open(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if services_required():
        pytest.fail(f"{message}, and VALUELOOP_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{message}; start it to run this test")


def need_tool(name: str, install: str, purpose: str) -> str:
    """The path of the command ``name``; skip if absent (fail under VALUELOOP_REQUIRE_SERVICES=1).

    ``install`` says how to get it (``apt-get install openssl``), ``purpose`` what the test uses
    it for.
    """
    found = shutil.which(name) or shutil.which(f"/usr/sbin/{name}")
    if found is not None:
        return found
    message = f"{name} is not installed ({install}); {purpose}"
    if services_required():
        pytest.fail(f"{message}, and VALUELOOP_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


POSTGRES_URL = os.environ.get(
    "VALUELOOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
