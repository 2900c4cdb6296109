"""Forwarding the outbox to the centre over HTTP, each batch under its idempotency key.

The forwarder first declares the edge's series (``POST /api/ingest/series``), then sends the oldest
batches (``POST /api/ingest``, an Arrow IPC stream) and the edge's dead letters
(``POST /api/ingest/deadletters``), removing each only when the centre confirmed it. A link or
centre that is down is retried with exponential backoff; a batch the centre refuses as malformed
(HTTP 422), or whose key the centre holds for another batch (HTTP 409), is set aside in the outbox
with the reason, so it cannot block the queue.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from valueloop.edge.config import HttpForward
from valueloop.edge.outbox import Outbox, OutboxBatch
from valueloop.errors import ConfigError, ConnectorError
from valueloop.ingest.wire import ARROW_TYPE

log = logging.getLogger(__name__)

DEAD_LETTERS_PER_REQUEST = 1000
BATCHES_PER_DRAIN = 64


class Refused(ConnectorError):
    """The centre refused a request as malformed; resending it cannot help."""


@dataclass
class ForwardStats:
    """Running totals of a forwarder."""

    batches: int = 0
    readings: int = 0
    duplicates: int = 0
    failures: int = 0
    refused: int = 0
    dead_letters: int = 0


class HttpForwarder:
    """Send the outbox's batches to the central ``/api/ingest`` until stopped."""

    def __init__(
        self,
        settings: HttpForward,
        outbox: Outbox,
        series: Callable[[], list[dict[str, str]]],
    ) -> None:
        token = os.environ.get(settings.token_env)
        if not token:
            raise ConfigError(
                f"set the environment variable {settings.token_env} to an API token with the "
                "ingest role (valueloop users add NAME --role ingest)"
            )
        self.settings = settings
        self.outbox = outbox
        self.series = series
        self.stats = ForwardStats()
        self.connected = False
        self._declared: set[str] = set()
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.timeout_s,
        )

    def _post(self, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = self._client.post(path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as err:
            self.connected = False
            raise ConnectorError(
                f"the centre at {self.settings.url} is unreachable: {err}"
            ) from err
        self.connected = True
        if response.status_code in (409, 422):
            raise Refused(f"the centre refused {path}: {response.text[:500]}")
        if response.status_code >= 400:
            raise ConnectorError(
                f"the centre answered {path} with {response.status_code}: {response.text[:200]}"
            )
        return response

    def _declare(self) -> None:
        """Declare the series not declared yet (templated mappings name new ones as they go)."""
        series = [item for item in self.series() if item["path"] not in self._declared]
        if series:
            self._post("/api/ingest/series", json={"series": series})
            self._declared.update(item["path"] for item in series)

    def _send(self, batch: OutboxBatch) -> None:
        response = self._post(
            "/api/ingest",
            content=batch.body,
            headers={"Content-Type": ARROW_TYPE, "Idempotency-Key": batch.key},
        )
        answer = response.json()
        self.stats.batches += 1
        self.stats.readings += batch.readings
        self.stats.duplicates += int(bool(answer.get("duplicate")))

    def _send_dead_letters(self) -> None:
        seqs, rows = self.outbox.dead_letters(DEAD_LETTERS_PER_REQUEST)
        if not seqs:
            return
        items = [{**row, "received_at": row["received_at"].isoformat()} for row in rows.to_pylist()]
        key = f"{self.outbox.edge}-dead-{seqs[0]}-{seqs[-1]}"
        self._post(
            "/api/ingest/deadletters", json={"items": items}, headers={"Idempotency-Key": key}
        )
        self.outbox.forget_dead_letters(seqs)
        self.stats.dead_letters += len(seqs)

    def drain_once(self) -> int:
        """Forward what waits now; return the readings sent. Raises when the centre is down."""
        self._declare()
        self._send_dead_letters()
        sent = 0
        for batch in self.outbox.oldest(BATCHES_PER_DRAIN):
            try:
                self._send(batch)
            except Refused as err:
                log.error("batch %s refused by the centre and set aside: %s", batch.key, err)
                self.outbox.refuse(batch, str(err))
                self.stats.refused += 1
                continue
            self.outbox.remove([batch.seq])
            sent += batch.readings
        return sent

    def run(self, stop: threading.Event) -> None:
        """Forward until ``stop`` is set, backing off while the centre cannot be reached."""
        delay = self.settings.retry_min_s
        while not stop.is_set():
            try:
                sent = self.drain_once()
                delay = self.settings.retry_min_s
            except ConnectorError as err:
                self.stats.failures += 1
                log.warning("forwarding paused: %s; retrying in %.1f s", err, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.settings.retry_max_s)
                continue
            if not sent:
                self.outbox.wait(0.2)

    def close(self) -> None:
        """Close the HTTP connection."""
        self._client.close()
