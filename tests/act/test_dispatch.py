"""Maintenance tasks go by webhook to a real receiver process: signed, retried, delivered once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.connectors.peers import PeerProcess, free_port

from valueloop.act.dispatch import (
    Completion,
    DispatchBook,
    Dispatcher,
    DispatchOutcome,
    backoff,
    secret_from_env,
    sign,
    task_message,
    verify_signature,
)
from valueloop.config.site import WebhookSpec
from valueloop.errors import ConfigError
from valueloop.store.duckdb import DuckDBStore

RECEIVER = Path(__file__).with_name("cmms_receiver.py")
SECRET_ENV = "VALUELOOP_TEST_CMMS_SECRET"
SECRET = b"shared-with-the-maintenance-system"
SITE = "plant-a"


def _order(order_id: str = "WO-0001") -> dict[str, Any]:
    """An approved maintenance work order as the work-order book gives it."""
    return {
        "order_id": order_id,
        "kind": "maintenance",
        "status": "approved",
        "asset": "area-1/line-1/pump-01",
        "action": "maintenance",
        "task": "replace the drive-end bearing",
        "due_at": datetime(2026, 6, 1, 6, 0, tzinfo=UTC),
        "window_end": datetime(2026, 6, 1, 14, 0, tzinfo=UTC),
        "crew": "mechanics-a",
        "expected_value": 1250.0,
        "created_by": "rule:bearing-vibration",
        "approved_by": ["maria"],
    }


def _spec(port: int, *, retry_max: timedelta = timedelta(seconds=20)) -> WebhookSpec:
    return WebhookSpec(
        url=f"http://127.0.0.1:{port}/cmms/workorders",
        secret_env=SECRET_ENV,
        timeout=timedelta(seconds=2),
        retry_initial=timedelta(seconds=5),
        retry_max=retry_max,
    )


def _dispatcher(port: int, secret: bytes = SECRET, **spec: Any) -> Dispatcher:
    book = DispatchBook(DuckDBStore(":memory:"))
    return Dispatcher(_spec(port, **spec), secret, book, site=SITE, currency="EUR")


def _now() -> datetime:
    """The receiver checks signatures against its own clock, so the tests start from it."""
    return datetime.now(UTC).replace(microsecond=0)


class Cmms:
    """The receiver process and the tasks it recorded."""

    def __init__(self, log: Path, port: int | None, fail_first: int, duplicate_status: int) -> None:
        self.log = log
        self.process = PeerProcess(
            str(RECEIVER),
            port,
            *("--secret-env", SECRET_ENV, "--log", str(log)),
            *("--fail-first", str(fail_first), "--duplicate-status", str(duplicate_status)),
        )
        self.port = self.process.port

    def tasks(self) -> list[dict[str, Any]]:
        """The tasks recorded, one per line of the log."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture
def cmms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Cmms]]:
    """Start receivers (``fail_first``, ``port``, ``duplicate_status``); all stop at the end."""
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    started: list[Cmms] = []

    def start(fail_first: int = 0, port: int | None = None, duplicate_status: int = 200) -> Cmms:
        receiver = Cmms(tmp_path / "cmms.jsonl", port, fail_first, duplicate_status)
        receiver.process.start(timeout=15)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.process.stop()


def test_a_task_is_delivered_signed_and_recorded_once(cmms: Callable[..., Cmms]) -> None:
    receiver = cmms()
    dispatcher = _dispatcher(receiver.port)
    now = _now()
    [outcome] = dispatcher.deliver_due([_order()], now)
    assert (outcome.order_id, outcome.delivered, outcome.status) == ("WO-0001", True, 201)
    assert receiver.tasks() == [json.loads(task_message(_order(), site=SITE, currency="EUR"))]
    record = dispatcher.book.get("WO-0001")
    assert record is not None
    assert (record.attempts, record.delivered_at, record.next_attempt_at) == (1, now, None)
    assert dispatcher.deliver_due([_order()], now + timedelta(minutes=1)) == []
    assert len(receiver.tasks()) == 1


def test_a_wrong_secret_is_refused_and_recorded_as_a_failed_attempt(
    cmms: Callable[..., Cmms],
) -> None:
    receiver = cmms()
    dispatcher = _dispatcher(receiver.port, secret=b"not-the-shared-secret")
    now = _now()
    [outcome] = dispatcher.deliver_due([_order()], now)
    assert (outcome.delivered, outcome.status) == (False, 401)
    assert "signature missing, wrong or stale" in outcome.detail
    record = dispatcher.book.get("WO-0001")
    assert record is not None
    assert (record.attempts, record.last_status, record.delivered_at) == (1, 401, None)
    assert "signature" in record.last_error and record.next_attempt_at == now + timedelta(seconds=5)
    assert receiver.tasks() == []


def test_a_busy_receiver_gets_the_task_on_the_third_attempt_after_backoff(
    cmms: Callable[..., Cmms],
) -> None:
    receiver = cmms(fail_first=2)
    dispatcher = _dispatcher(receiver.port)
    start = _now()
    seconds = [0, 4, 5, 14, 15]
    answers = {
        offset: dispatcher.deliver_due([_order()], start + timedelta(seconds=offset))
        for offset in seconds
    }
    assert {offset: [o.status for o in outcomes] for offset, outcomes in answers.items()} == {
        0: [503],
        4: [],
        5: [503],
        14: [],
        15: [201],
    }
    record = dispatcher.book.get("WO-0001")
    assert record is not None
    assert (record.attempts, record.delivered_at) == (3, start + timedelta(seconds=15))
    assert len(receiver.tasks()) == 1


def test_the_backoff_schedule_is_recorded_between_attempts(cmms: Callable[..., Cmms]) -> None:
    receiver = cmms(fail_first=3)
    dispatcher = _dispatcher(receiver.port, retry_max=timedelta(seconds=12))
    start = _now()
    schedule = []
    at = start
    for _ in range(4):
        [outcome] = dispatcher.deliver_due([_order()], at)
        record = dispatcher.book.get("WO-0001")
        assert record is not None
        schedule.append((outcome.status, record.attempts, record.next_attempt_at))
        at = record.next_attempt_at or at
    assert schedule == [
        (503, 1, start + timedelta(seconds=5)),
        (503, 2, start + timedelta(seconds=5 + 10)),
        (503, 3, start + timedelta(seconds=5 + 10 + 12)),
        (201, 4, None),
    ]


def test_a_receiver_down_is_a_connection_error_retried_later(cmms: Callable[..., Cmms]) -> None:
    port = free_port()
    dispatcher = _dispatcher(port)
    start = _now()
    [outcome] = dispatcher.deliver_due([_order()], start)
    assert (outcome.delivered, outcome.status) == (False, None)
    assert f"cannot reach http://127.0.0.1:{port}" in outcome.detail
    assert "ConnectError" in outcome.detail
    record = dispatcher.book.get("WO-0001")
    assert record is not None
    assert record.last_error == outcome.detail and record.last_status is None
    assert dispatcher.book.due(start + timedelta(seconds=4)) == []
    assert dispatcher.book.due(start + timedelta(seconds=5)) == ["WO-0001"]
    receiver = cmms(port=port)
    [outcome] = dispatcher.deliver_due([_order()], start + timedelta(seconds=5))
    assert (outcome.delivered, outcome.status) == (True, 201)
    assert len(receiver.tasks()) == 1


@pytest.mark.parametrize("duplicate_status", [200, 409])
def test_a_redelivery_after_a_crash_is_recorded_once_by_the_receiver(
    cmms: Callable[..., Cmms], duplicate_status: int
) -> None:
    receiver = cmms(duplicate_status=duplicate_status)
    now = _now()
    [first] = _dispatcher(receiver.port).deliver_due([_order()], now)
    # The process died after the POST and before its record: a fresh book sends the task again.
    [again] = _dispatcher(receiver.port).deliver_due([_order()], now + timedelta(seconds=1))
    assert (first.delivered, first.status) == (True, 201)
    assert (again.delivered, again.status) == (True, duplicate_status)
    assert '"duplicate": true' in again.detail
    assert [task["order_id"] for task in receiver.tasks()] == ["WO-0001"]


def test_each_order_is_tracked_on_its_own(cmms: Callable[..., Cmms]) -> None:
    receiver = cmms(fail_first=1)
    dispatcher = _dispatcher(receiver.port)
    now = _now()
    outcomes = dispatcher.deliver_due([_order("WO-0001"), _order("WO-0002")], now)
    assert [(o.order_id, o.status) for o in outcomes] == [("WO-0001", 503), ("WO-0002", 201)]
    assert dispatcher.book.due(now + timedelta(seconds=5)) == ["WO-0001"]
    assert {task["order_id"] for task in receiver.tasks()} == {"WO-0002"}


def test_a_missing_secret_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=SECRET_ENV):
        secret_from_env(_spec(8080))
    monkeypatch.setenv(SECRET_ENV, "from-the-environment")
    assert secret_from_env(_spec(8080)) == b"from-the-environment"


def test_verify_signature_rejects_a_tampered_body_and_a_stale_time() -> None:
    body = task_message(_order(), site=SITE)
    at = 1_780_000_000
    header = sign(SECRET, body, at)
    assert header.startswith(f"t={at},v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature(SECRET, header, body, now=at + 300)
    assert not verify_signature(SECRET, header, body.replace(b"1250.0", b"9250.0"), now=at)
    assert not verify_signature(b"another-secret", header, body, now=at)
    assert not verify_signature(SECRET, header, body, now=at + 301)
    assert not verify_signature(SECRET, header, body, now=at - 301)
    assert verify_signature(SECRET, header, body, now=at + 3600, tolerance_s=3600)
    rotating = f"{sign(b'old-secret', body, at)},v1={header.split('v1=')[1]}"
    assert verify_signature(SECRET, rotating, body, now=at)
    for malformed in ("", "v1=abc", f"t=soon,v1={header.split('v1=')[1]}", f"{header},t={at}"):
        assert not verify_signature(SECRET, malformed, body, now=at)


def test_the_task_message_is_deterministic_json_for_the_receiver() -> None:
    order = _order()
    body = task_message(order, site=SITE, currency="EUR")
    assert task_message(dict(reversed(order.items())), site=SITE, currency="EUR") == body
    message = json.loads(body)
    assert list(message) == sorted(message)
    assert message == {
        "order_id": "WO-0001",
        "site": SITE,
        "asset": "area-1/line-1/pump-01",
        "task": "replace the drive-end bearing",
        "window_start": "2026-06-01T06:00:00+00:00",
        "window_end": "2026-06-01T14:00:00+00:00",
        "crew": "mechanics-a",
        "expected_value": 1250.0,
        "currency": "EUR",
        "created_by": "rule:bearing-vibration",
        "approved_by": ["maria"],
        "completion_url": "/api/workorders/WO-0001/complete",
    }
    planned = {"order_id": "WO 7", "asset": "a/b/c", "action": "overhaul", "due_at": "2026-06-02"}
    assert json.loads(task_message(planned, site=SITE)) == {
        "order_id": "WO 7",
        "site": SITE,
        "asset": "a/b/c",
        "task": "overhaul",
        "window_start": "2026-06-02",
        "window_end": None,
        "crew": "",
        "expected_value": 0.0,
        "currency": None,
        "created_by": None,
        "approved_by": [],
        "completion_url": "/api/workorders/WO%207/complete",
    }


def test_backoff_doubles_up_to_the_maximum() -> None:
    spec = _spec(8080, retry_max=timedelta(minutes=1))
    assert [backoff(spec, n).total_seconds() for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff(spec, 100_000) == timedelta(minutes=1)


def test_a_failed_attempt_needs_a_time_to_retry() -> None:
    book = DispatchBook(DuckDBStore(":memory:"))
    with pytest.raises(ValueError, match="WO-0001"):
        book.record_attempt(DispatchOutcome("WO-0001", False, 500, "boom"), at=_now())
    assert book.get("WO-0001") is None


def test_a_completion_is_strict() -> None:
    done = Completion.model_validate({"actual_cost": 980, "duration_h": 3.5, "findings": "worn"})
    assert (done.actual_cost, done.duration_h, done.findings) == (980.0, 3.5, "worn")
    assert Completion(actual_cost=0.0, duration_h=0.0).findings == ""
    for wrong in (
        {"actual_cost": -1.0, "duration_h": 1.0},
        {"actual_cost": 1.0, "duration_h": -0.5},
        {"actual_cost": "12", "duration_h": 1.0},
        {"actual_cost": float("nan"), "duration_h": 1.0},
        {"actual_cost": 1.0, "duration_h": 1.0, "findings": "x" * 10_001},
        {"actual_cost": 1.0, "duration_h": 1.0, "approved": True},
    ):
        with pytest.raises(ValidationError):
            Completion.model_validate(wrong)


def test_the_act_job_dispatches_an_approved_task_and_the_cmms_completes_it(
    cmms: Callable[..., Cmms], tmp_path: Path
) -> None:
    from valueloop.engine.build import act_job
    from valueloop.site import open_site

    receiver = cmms(fail_first=1)
    site_file = tmp_path / "site.yaml"
    site_file.write_text(
        "site: {name: plant-a}\n"
        "asset_types: {pump: {signals: {flow: {unit: m^3/h}}}}\n"
        "assets: [{path: area-1/line-1/pump-01, type: pump}]\n"
        "policy: {approval: two_person}\n"
        "maintenance:\n"
        f"  webhook: {{url: 'http://127.0.0.1:{receiver.port}/cmms', secret_env: {SECRET_ENV},\n"
        "            retry_initial: 1s}\n"
    )
    site = open_site(site_file, tmp_path / "data")
    try:
        desk = site.actions
        order = desk.propose_task(
            "pump-01", "replace the drive-end bearing", window_start=_now(), actor="olga"
        )
        order_id = order["order_id"]
        job = act_job(site)
        assert job.step(_now(), None, None).message == "nothing to act on"
        desk.approve(order_id, actor="ann", role="approver")
        desk.approve(order_id, actor="bob", role="approver")
        now = _now()
        job.step(now, None, None)
        assert site.work_orders.get(order_id)["status"] == "approved"
        assert "1 dispatched" in job.step(now + timedelta(seconds=2), None, None).message
        (task,) = receiver.tasks()
        assert (task["order_id"], task["approved_by"]) == (order_id, ["ann", "bob"])
        done = desk.complete(order_id, actor="cmms", actual_cost=640.0, duration_h=2.5)
        assert (done["status"], done["actual_cost"]) == ("completed", 640.0)
        actions = site.work_orders.audit_trail(order_id).column("action").to_pylist()
        assert actions[-3:] == ["dispatch_failed", "dispatched", "completed"]
    finally:
        site.close()
