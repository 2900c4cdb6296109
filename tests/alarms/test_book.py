"""The alarm book: ISA-18.2 states, refusals, idempotent transitions, shelving, audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from tests.alarms.helpers import at, telemetry_stale, vibration_hi

from valueloop.alarms import AlarmBook, AlarmState, Transition, alarm_id
from valueloop.errors import ActionError
from valueloop.events import listen
from valueloop.store.duckdb import DuckDBStore

HI = vibration_hi()
STALE = telemetry_stale()


def activate(second: float, value: float = 12.0) -> Transition:
    return Transition(HI, "activate", at(second), value, HI.signal)


def clear(second: float, value: float = 8.0) -> Transition:
    return Transition(HI, "clear", at(second), value, HI.signal)


@pytest.fixture
def book(tmp_path: Path) -> AlarmBook:
    return AlarmBook(DuckDBStore(tmp_path / "site.duckdb"))


def states(book: AlarmBook) -> list[tuple[str, str]]:
    table = book.list(include_normal=True)
    return list(
        zip(table.column("alarm_id").to_pylist(), table.column("state").to_pylist(), strict=True)
    )


def test_acknowledged_then_cleared_alarm_is_normal(book: AlarmBook) -> None:
    assert book.apply([activate(10)]) == 1
    first = alarm_id(HI.key, at(10))
    alarm = book.get(first)
    assert alarm["state"] == "unack" and alarm["value_at_raise"] == 12.0
    assert (alarm["name"], alarm["asset"], alarm["level"], alarm["signal"], alarm["priority"]) == (
        "vibration_high", "compressor-1", "hi", "vibration", "high",
    )  # fmt: skip
    assert alarm["raised_at"] == at(10) and not alarm["suppressed"]
    acked = book.acknowledge(first, actor="maria", at=at(20), comment="checking the bearing")
    assert (acked["state"], acked["acked_by"], acked["acked_at"]) == ("acked", "maria", at(20))
    assert acked["ack_comment"] == "checking the bearing"
    book.apply([clear(30)])
    cleared = book.get(first)
    assert (cleared["state"], cleared["cleared_at"], cleared["value_at_clear"]) == (
        "normal", at(30), 8.0,
    )  # fmt: skip


def test_cleared_then_acknowledged_alarm_is_normal(book: AlarmBook) -> None:
    book.apply([activate(10), clear(30)])
    first = alarm_id(HI.key, at(10))
    assert book.get(first)["state"] == "rtn_unack"
    assert book.acknowledge(first, actor="maria", at=at(40))["state"] == "normal"


@pytest.mark.parametrize("cleared", [False, True])
def test_an_acknowledged_alarm_cannot_be_acknowledged_again(book: AlarmBook, cleared: bool) -> None:
    book.apply([activate(10), *([clear(30)] if cleared else [])])
    first = alarm_id(HI.key, at(10))
    book.acknowledge(first, actor="maria", at=at(40))
    state = "normal" if cleared else "acked"
    with pytest.raises(ActionError, match=f"is {state}; only an unacknowledged alarm"):
        book.acknowledge(first, actor="tom", at=at(50))
    with pytest.raises(ActionError, match="no alarm 'AL-nope'"):
        book.acknowledge("AL-nope", actor="tom", at=at(50))
    with pytest.raises(ActionError, match="an actor is required"):
        book.acknowledge(first, actor=" ", at=at(50))


def test_activation_of_an_active_point_is_ignored(book: AlarmBook) -> None:
    assert book.apply([activate(10), activate(12)]) == 1
    assert book.apply([Transition(STALE, "activate", at(11), None, "pressure")]) == 1
    assert len(states(book)) == 2


def test_applying_the_same_transitions_again_changes_nothing(book: AlarmBook) -> None:
    episodes = [activate(10), clear(30), activate(50), clear(70), activate(90)]
    assert book.apply(episodes) == 5
    before = book.list(include_normal=True)
    assert book.apply(episodes) == 0
    # a rerun of an earlier period does not clear the alarm active since later
    assert book.apply(episodes[:2]) == 0
    assert book.list(include_normal=True).equals(before)
    assert [state for _, state in states(book)] == ["unack", "rtn_unack", "rtn_unack"]


def test_late_readings_raise_an_earlier_episode_but_never_one_already_raised(
    book: AlarmBook,
) -> None:
    book.apply([activate(50), clear(80)])
    assert book.last_move(HI.key, at(60)) == (at(50), True)
    assert book.last_move(HI.key, at(90)) == (at(80), False)
    assert book.last_move(HI.key, at(50)) is None
    # judged again with readings that came late: the episode began at 40 s, not 50 s
    assert book.apply([activate(40), clear(80)]) == 0
    assert book.apply([activate(45)]) == 0  # open: it runs into the alarm raised at 50 s
    # an earlier episode of its own is raised, at its own time
    assert book.apply([activate(10), clear(20)]) == 2
    raised = book.list(include_normal=True).column("raised_at").to_pylist()
    assert raised == [at(50), at(10)]


def test_list_filters_and_orders_newest_first(book: AlarmBook) -> None:
    book.apply(
        [
            activate(10),
            clear(30),
            activate(50),
            Transition(STALE, "activate", at(40), None, "pressure"),
        ]
    )
    old = alarm_id(HI.key, at(10))
    book.acknowledge(old, actor="maria", at=at(60))
    assert [row["raised_at"] for row in book.list().to_pylist()] == [at(50), at(40)]
    assert book.list(include_normal=True).num_rows == 3
    assert book.list(AlarmState.NORMAL).column("alarm_id").to_pylist() == [old]
    assert book.list(priority="medium").column("level").to_pylist() == ["stale"]
    assert book.list(asset="pump-9").num_rows == 0
    assert book.list(include_normal=True, limit=1).num_rows == 1
    active = book.active_since("compressor-1").to_pylist()
    assert [(row["key"], row["raised_at"]) for row in active] == [
        (STALE.key, at(40)),
        (HI.key, at(50)),
    ]
    assert book.active_since("pump-9").num_rows == 0
    raised = book.raised_between(at(10), at(50)).column("raised_at").to_pylist()
    assert raised == [at(40), at(50)]
    assert book.raised_between(None, at(40)).column("raised_at").to_pylist() == [at(10), at(40)]


def test_shelved_point_is_marked_its_new_alarms_suppressed_until_the_shelf_expires(
    book: AlarmBook,
) -> None:
    book.apply([activate(10)])
    first = alarm_id(HI.key, at(10))
    shelved = book.shelve(first, actor="maria", until=at(3600), at=at(20), comment="known issue")
    assert shelved["shelved"] and shelved["shelved_until"] == at(3600)
    assert (shelved["state"], shelved["shelved_by"]) == ("unack", "maria")
    book.apply([clear(30), activate(40)])
    second = book.get(alarm_id(HI.key, at(40)))
    assert second["suppressed"] and second["shelved"]
    assert book.get(first)["state"] == "rtn_unack"
    assert book.expire_shelves(at(3599)) == 0
    assert book.expire_shelves(at(3600)) == 1
    assert not book.get(first)["shelved"] and book.get(first)["shelved_until"] is None
    book.apply([clear(3700), activate(3800)])
    assert not book.get(alarm_id(HI.key, at(3800)))["suppressed"]
    trail = book.audit_trail(first).to_pylist()
    assert [(row["actor"], row["action"]) for row in trail] == [
        ("maria", "shelve"),
        ("system", "unshelve"),
    ]
    assert json.loads(trail[0]["detail"]) == {
        "key": HI.key,
        "until": at(3600).isoformat(),
        "comment": "known issue",
        "at": at(20).isoformat(),
    }
    assert json.loads(trail[1]["detail"])["reason"] == "shelf expired"


def test_shelving_is_bounded_and_unshelving_needs_a_shelf(book: AlarmBook) -> None:
    book.apply([activate(10)])
    first = alarm_id(HI.key, at(10))
    with pytest.raises(ActionError, match="at most 7 days"):
        book.shelve(first, actor="maria", until=at(20) + timedelta(days=8), at=at(20))
    with pytest.raises(ActionError, match="must end after now"):
        book.shelve(first, actor="maria", until=at(20), at=at(20))
    with pytest.raises(ActionError, match="is not shelved"):
        book.unshelve(first, actor="maria", at=at(20))
    book.shelve(first, actor="maria", until=at(100), at=at(20))
    unshelved = book.unshelve(first, actor="tom", at=at(30), comment="fixed")
    assert not unshelved["shelved"]


def test_the_longest_shelf_is_a_setting_of_the_book() -> None:
    book = AlarmBook(DuckDBStore(":memory:"), max_shelve=timedelta(hours=8))
    book.apply([activate(10)])
    first = alarm_id(HI.key, at(10))
    with pytest.raises(ActionError, match="at most 8:00:00"):
        book.shelve(first, actor="maria", until=at(20) + timedelta(hours=9), at=at(20))
    assert book.shelve(first, actor="maria", until=at(20) + timedelta(hours=8), at=at(20))[
        "shelved"
    ]


def test_out_of_service_point_is_marked_and_suppresses_its_alarms(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    book = AlarmBook(store)
    hub = listen(store)
    book.apply([activate(10), clear(20)])
    book.set_out_of_service(HI.key, actor="tom", flag=True, at=at(25), comment="sensor swap")
    with pytest.raises(ActionError, match="already out of service"):
        book.set_out_of_service(HI.key, actor="tom", flag=True, at=at(26))
    with pytest.raises(ActionError, match="not an alarm point key"):
        book.set_out_of_service("vibration", actor="tom", flag=True, at=at(26))
    book.apply([activate(30)])
    latest = book.list().to_pylist()[0]
    assert latest["out_of_service"] and latest["suppressed"] and latest["state"] == "unack"
    seen = hub.last_id
    book.set_out_of_service(HI.key, actor="tom", flag=False, at=at(40))
    assert not book.get(latest["alarm_id"])["out_of_service"]
    # the point's alarms still listed (both unacknowledged) are told, like any alarm change
    events = hub.after(seen)
    shown = {row["alarm_id"] for row in book.list().to_pylist()}
    assert {event.row["alarm_id"] for event in events} == shown and latest["alarm_id"] in shown
    assert all(event.kind == "alarm" and not event.row["out_of_service"] for event in events)
    assert [row["action"] for row in book.audit_trail(HI.key).to_pylist()] == [
        "out_of_service",
        "return_to_service",
    ]


def test_every_action_is_in_the_hash_chained_audit_of_the_site(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    book = AlarmBook(store)
    book.apply([activate(10)])
    first = alarm_id(HI.key, at(10))
    book.acknowledge(first, actor="maria", at=at(20), comment="seen")
    book.shelve(first, actor="maria", until=at(100), at=at(21))
    book.unshelve(first, actor="maria", at=at(22))
    rows = store.query("SELECT actor, action, subject, detail FROM audit ORDER BY seq").to_pylist()
    assert [(row["actor"], row["action"], row["subject"]) for row in rows] == [
        ("maria", "acknowledge", first),
        ("maria", "shelve", first),
        ("maria", "unshelve", first),
    ]
    assert json.loads(rows[0]["detail"]) == {
        "from": "unack",
        "to": "acked",
        "comment": "seen",
        "at": at(20).isoformat(),
    }
    assert book.audit.verify().ok
    store.close()
    reopened = AlarmBook(DuckDBStore(tmp_path / "site.duckdb"))
    assert reopened.get(first)["state"] == "acked"
