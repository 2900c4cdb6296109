"""The event hub: numbered events, a bounded history, resuming after an id."""

from __future__ import annotations

from valueloop.events import EventHub, announce, listen


def test_a_hub_resumes_within_its_history_and_replays_it_otherwise() -> None:
    hub = EventHub(history=3)
    assert hub.after(0) == [] and hub.last_id == 0
    for number in range(5):
        hub.publish("alarm", {"n": number})
    assert hub.last_id == 5
    assert [event.event_id for event in hub.after(3)] == [4, 5]
    assert hub.after(5) == [] and hub.after(None) == []
    assert [event.event_id for event in hub.after(1)] == [3, 4, 5]  # 2 is forgotten
    assert [event.event_id for event in hub.after(99)] == [3, 4, 5]  # a previous process's id
    assert [event.row["n"] for event in hub.after(2)] == [2, 3, 4]


def test_announcements_reach_only_an_open_hub() -> None:
    class Database:
        """Stands for a site's database: any object the books share."""

    database, elsewhere = Database(), Database()
    calls: list[str] = []

    def rows(name: str) -> list[dict[str, str]]:
        calls.append(name)
        return [{"name": name}]

    announce(database, "alarm", lambda: rows("before"))
    hub = listen(database)
    announce(database, "workorder", lambda: rows("after"))
    announce(elsewhere, "alarm", lambda: rows("elsewhere"))
    assert listen(database) is hub
    assert calls == ["after"]
    assert [(event.kind, event.row) for event in hub.after(0)] == [("workorder", {"name": "after"})]
