"""Dispatch of approved maintenance tasks to the site's maintenance system (CMMS) by webhook.

Each task is POSTed as JSON with sorted keys (:func:`task_message`), so a retry sends the very
same bytes, with three headers:

- ``X-Valueloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
  (Stripe's scheme; :func:`verify_signature` is the receiver's side of it);
- ``Idempotency-Key: <order id>``, so a task sent again (after a crash between the POST and its
  record here) is recognised by the receiver and not booked twice;
- ``Content-Type: application/json``.

A 2xx answer, or 409 (the receiver holds the key already), means delivered. Any other answer or a
connection error is a failed attempt, retried ``retry_initial * 2 ** (attempts - 1)`` later, at
most ``retry_max`` later. The dispatch book (table ``dispatches`` of the site's store) keeps, per
order, the attempts, the next attempt's time, the last answer and when it was delivered. Time is
handed in by the caller; this module never reads the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from valueloop.config.site import WebhookSpec
from valueloop.errors import ConfigError
from valueloop.store.duckdb import DuckDBStore

SIGNATURE_HEADER = "X-Valueloop-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
ALREADY_RECEIVED = 409
"""The receiver's answer to a key it holds already: the task is there, so it counts as delivered."""

_DDL = """
CREATE TABLE IF NOT EXISTS dispatches (
    order_id VARCHAR PRIMARY KEY,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    last_status INTEGER,
    last_error VARCHAR NOT NULL,
    delivered_at TIMESTAMPTZ
)
"""

_RECORD_ATTEMPT = """
INSERT INTO dispatches VALUES (?, 1, ?, ?, ?, ?)
ON CONFLICT (order_id) DO UPDATE SET
    attempts = dispatches.attempts + 1,
    next_attempt_at = excluded.next_attempt_at,
    last_status = excluded.last_status,
    last_error = excluded.last_error,
    delivered_at = excluded.delivered_at
"""

_ANSWER_CHARS = 300  # of a receiver's answer kept as the outcome's detail


def sign(secret: bytes, body: bytes, at: int) -> str:
    """The signature header value of ``body`` sent at ``at`` (unix seconds)."""
    return f"t={at},v1={_digest(secret, body, at)}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: int, tolerance_s: int = 300
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` no more than ``tolerance_s`` from ``now``.

    ``now`` is the receiver's time in unix seconds; a signature outside the tolerance is refused,
    so a captured request cannot be replayed later. Any ``v1`` of the header may match (several are
    sent while a secret is being changed); digests are compared in constant time.
    """
    stamps: list[str] = []
    digests: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == "v1":
            digests.append(value)
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    at = int(stamps[0])
    if abs(now - at) > tolerance_s:
        return False
    expected = _digest(secret, body, at)
    return any(hmac.compare_digest(expected, digest) for digest in digests)


def _digest(secret: bytes, body: bytes, at: int) -> str:
    return hmac.new(secret, f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def secret_from_env(spec: WebhookSpec) -> bytes:
    """The webhook's signing secret, from the environment variable the site names."""
    value = os.environ.get(spec.secret_env)
    if not value:
        raise ConfigError(
            f"set the environment variable {spec.secret_env} to the signing secret shared with "
            f"the maintenance system at {spec.url} (maintenance.webhook.secret_env in site.yaml)"
        )
    return value.encode()


def _iso(value: Any) -> str | None:
    """An ISO 8601 time in UTC; a time without a zone is taken as UTC."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {value!r}")
    zoned = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return zoned.astimezone(UTC).isoformat()


def task_message(order: Mapping[str, Any], *, site: str, currency: str | None = None) -> bytes:
    """The JSON body the maintenance system receives for a maintenance work order.

    The window runs from the order's ``due_at`` to its ``window_end`` (``null`` when open);
    ``expected_value`` is the money the task is expected to save, in ``currency`` (the site's);
    ``completion_url`` is the path of this platform's API where the crew reports the work done.
    The task is the order's ``task`` in words, or else its ``action``. Keys are sorted and the
    separators fixed, so the same order always gives the same bytes.
    """
    order_id = str(order["order_id"])
    message = {
        "order_id": order_id,
        "site": site,
        "asset": order["asset"],
        "task": order.get("task") or order.get("action") or "",
        "window_start": _iso(order["due_at"]),
        "window_end": _iso(order.get("window_end")),
        "crew": order.get("crew") or "",
        "expected_value": float(order.get("expected_value") or 0.0),
        "currency": currency,
        "created_by": order.get("created_by"),
        "approved_by": list(order.get("approved_by") or []),
        "completion_url": f"/api/workorders/{quote(order_id, safe='')}/complete",
    }
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DispatchOutcome:
    """One delivery attempt: delivered or not, the HTTP status (None: no answer) and why."""

    order_id: str
    delivered: bool
    status: int | None
    detail: str


@dataclass(frozen=True)
class DispatchRecord:
    """Where the delivery of one order stands in the dispatch book.

    ``next_attempt_at`` is None once delivered; ``last_status`` is None when the last attempt got
    no answer (``last_error`` says why).
    """

    order_id: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str
    delivered_at: datetime | None


class DispatchBook:
    """The ``dispatches`` table of a store: each order's delivery attempts to the CMMS."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def enqueue(self, order_ids: Sequence[str], *, at: datetime) -> int:
        """Add orders not in the book yet, first attempt due ``at``; return how many were new."""
        rows = pa.table(
            {
                "order_id": pa.array(order_ids, pa.string()),
                "attempts": pa.array([0] * len(order_ids), pa.int32()),
                "next_attempt_at": pa.array([at] * len(order_ids), pa.timestamp("us", tz="UTC")),
                "last_error": pa.array([""] * len(order_ids), pa.string()),
            }
        )
        return self._store.append("dispatches", rows, unless=["order_id"])

    def due(self, now: datetime) -> list[str]:
        """Orders not delivered whose next attempt is due at ``now``, longest waiting first."""
        rows = self._store.query(
            "SELECT order_id FROM dispatches WHERE delivered_at IS NULL AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, order_id",
            [now],
        )
        return [str(order_id) for order_id in rows.column("order_id").to_pylist()]

    def record_attempt(
        self, outcome: DispatchOutcome, *, at: datetime, retry_at: datetime | None = None
    ) -> None:
        """Record an attempt made ``at``: delivered, or failed and to be retried ``retry_at``."""
        if not outcome.delivered and retry_at is None:
            raise ValueError(f"a failed delivery of {outcome.order_id} needs a time to retry")
        self._store.execute(
            _RECORD_ATTEMPT,
            [
                outcome.order_id,
                None if outcome.delivered else retry_at,
                outcome.status,
                "" if outcome.delivered else outcome.detail,
                at if outcome.delivered else None,
            ],
        )

    def get(self, order_id: str) -> DispatchRecord | None:
        """The delivery state of an order, None if it was never queued."""
        rows = self._store.query("SELECT * FROM dispatches WHERE order_id = ?", [order_id])
        return DispatchRecord(**rows.to_pylist()[0]) if rows.num_rows else None


def backoff(spec: WebhookSpec, attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, up to ``retry_max``."""
    # Past 2**64 the maximum applies anyway; the cap keeps the float finite.
    seconds = spec.retry_initial.total_seconds() * 2.0 ** min(attempts - 1, 64)
    return timedelta(seconds=min(seconds, spec.retry_max.total_seconds()))


class Dispatcher:
    """Sends approved maintenance orders to the site's maintenance system, signed and retried."""

    def __init__(
        self,
        spec: WebhookSpec,
        secret: bytes,
        book: DispatchBook,
        *,
        site: str,
        currency: str | None = None,
    ) -> None:
        self.spec = spec
        self.book = book
        self.site = site
        self.currency = currency
        self._secret = secret

    def deliver_due(
        self, orders: Sequence[Mapping[str, Any]], now: datetime
    ) -> list[DispatchOutcome]:
        """POST each of ``orders`` not delivered yet whose attempt is due at ``now``.

        ``orders`` are approved maintenance work orders (mappings as the work-order book gives
        them). An order seen for the first time is due at once. Every attempt is recorded in the
        book before the next is made; the outcomes come back in the order of ``orders``.
        """
        if now.tzinfo is None:
            raise ValueError("the dispatch time must carry a time zone")
        self.book.enqueue([str(order["order_id"]) for order in orders], at=now)
        due = set(self.book.due(now))
        sending = {str(o["order_id"]): o for o in orders if str(o["order_id"]) in due}
        if not sending:
            return []
        outcomes = []
        with httpx.Client(timeout=self.spec.timeout.total_seconds()) as client:
            for order_id, order in sending.items():
                outcome = self._post(client, order, now)
                retry_at = None
                if not outcome.delivered:
                    record = self.book.get(order_id)
                    attempts = (record.attempts if record else 0) + 1
                    retry_at = now + backoff(self.spec, attempts)
                self.book.record_attempt(outcome, at=now, retry_at=retry_at)
                outcomes.append(outcome)
        return outcomes

    def _post(
        self, client: httpx.Client, order: Mapping[str, Any], now: datetime
    ) -> DispatchOutcome:
        order_id = str(order["order_id"])
        body = task_message(order, site=self.site, currency=self.currency)
        headers = {
            SIGNATURE_HEADER: sign(self._secret, body, int(now.timestamp())),
            IDEMPOTENCY_HEADER: order_id,
            "Content-Type": "application/json",
        }
        try:
            response = client.post(self.spec.url, content=body, headers=headers)
        except httpx.HTTPError as err:
            return DispatchOutcome(
                order_id, False, None, f"cannot reach {self.spec.url}: {type(err).__name__}: {err}"
            )
        status = response.status_code
        answer = f"HTTP {status} from {self.spec.url}: {response.text[:_ANSWER_CHARS]}"
        delivered = 200 <= status < 300 or status == ALREADY_RECEIVED
        return DispatchOutcome(order_id, delivered, status, answer)


class Completion(BaseModel):
    """What the crew reports when a dispatched maintenance task is done.

    ``actual_cost`` is in the site's currency, ``duration_h`` in hours; ``findings`` in words.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    actual_cost: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    duration_h: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    findings: Annotated[str, Field(max_length=10_000)] = ""
