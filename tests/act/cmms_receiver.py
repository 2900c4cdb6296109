"""A maintenance system (CMMS) receiving work orders by webhook, run as its own process in tests.

``python tests/act/cmms_receiver.py --port N --secret-env NAME --log PATH --fail-first K
[--duplicate-status S]`` answers every POST as a CMMS would:

- 503 to the first ``K`` requests (the system is temporarily unavailable);
- 401 unless ``X-Valueloop-Signature`` signs the body under the secret in the environment variable
  ``NAME`` (``t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``, ``t`` within 5 minutes);
- 400 unless the body is a JSON task whose ``order_id`` is the ``Idempotency-Key``;
- ``S`` (200 unless told, some systems say 409) ``{"duplicate": true}`` to a key it holds already,
  recording nothing;
- otherwise 201 ``{"duplicate": false}``, appending the body as one line to ``PATH``.

The signature is checked here with the standard library alone, independently of valueloop, as
the other side of the wire would. Keys already in ``PATH`` count as held after a restart.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

TOLERANCE_S = 300


def signed(secret: bytes, header: str, body: bytes, now: float) -> bool:
    """Whether the signature header signs ``body`` under ``secret``, fresh at ``now``."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    stamp = fields.get("t", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_S:
        return False
    expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


class Receiver(BaseHTTPRequestHandler):
    """The webhook endpoint; the server carries the secret, the log and the counters."""

    server: CmmsServer

    def do_POST(self) -> None:
        """Receive one task."""
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests += 1
        if self.server.requests <= self.server.fail_first:
            self._answer(503, {"error": "maintenance system unavailable, try again later"})
            return
        if not signed(
            self.server.secret, self.headers.get("X-Valueloop-Signature", ""), body, time.time()
        ):
            self._answer(401, {"error": "signature missing, wrong or stale"})
            return
        key = self.headers.get("Idempotency-Key", "")
        try:
            task = json.loads(body)
        except ValueError:
            task = None
        if self.headers.get("Content-Type") != "application/json" or (
            not isinstance(task, dict) or not key or task.get("order_id") != key
        ):
            self._answer(400, {"error": "expected a JSON task whose order_id is the key"})
            return
        if key in self.server.keys:
            self._answer(self.server.duplicate_status, {"duplicate": True})
            return
        with self.server.log.open("ab") as log:
            log.write(body + b"\n")
        self.server.keys.add(key)
        self._answer(201, {"duplicate": False})

    def _answer(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the tests read the log file, not the console."""


class CmmsServer(HTTPServer):
    """An HTTP server holding the receiver's state."""

    def __init__(
        self, port: int, secret: bytes, log: Path, fail_first: int, duplicate_status: int
    ) -> None:
        super().__init__(("127.0.0.1", port), Receiver)
        self.secret = secret
        self.log = log
        self.fail_first = fail_first
        self.duplicate_status = duplicate_status
        self.requests = 0
        lines = log.read_text().splitlines() if log.exists() else []
        self.keys = {json.loads(line)["order_id"] for line in lines}


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret-env", required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--duplicate-status", type=int, default=200)
    options = parser.parse_args()
    secret = os.environ[options.secret_env].encode()
    CmmsServer(
        options.port, secret, options.log, options.fail_first, options.duplicate_status
    ).serve_forever()


if __name__ == "__main__":
    main()
