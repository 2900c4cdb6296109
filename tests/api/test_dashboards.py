"""``/api/dashboards``: each user saves their own; a shared one is read by all, changed by its
owner only; panels are checked to lie on the 12-column grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.fleet import bearer
from tests.api.plant import plant_client

from valueloop.api.auth import issue_token, issue_user_token

PANELS: list[dict[str, Any]] = [
    {"id": "flow", "kind": "trend", "x": 0, "y": 0, "w": 8, "h": 4, "config": {"series": [1, 2]}},
    {"id": "speed", "kind": "gauge", "x": 8, "y": 0, "w": 4, "h": 4, "config": {"unit": "rpm"}},
]


def test_owners_edit_their_dashboards_and_everyone_reads_shared_ones(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        maria = bearer(issue_token(site.store, "Maria", "operator"))
        vera = bearer(issue_token(site.store, "vera", "viewer"))
        shared = client.post(
            "/api/dashboards",
            json={"name": "Pumps", "shared": True, "panels": PANELS},
            headers=maria,
        )
        own = client.post("/api/dashboards", json={"name": "Mine"}, headers=maria).json()
        veras = client.post("/api/dashboards", json={"name": "Vera's"}, headers=vera).json()
        made = shared.json()
        listed = {
            "maria": [d["name"] for d in client.get("/api/dashboards", headers=maria).json()],
            "vera": [d["name"] for d in client.get("/api/dashboards", headers=vera).json()],
        }
        read = client.get(f"/api/dashboards/{made['id']}", headers=vera)
        hidden = client.get(f"/api/dashboards/{own['id']}", headers=vera)
        foreign_edit = client.put(
            f"/api/dashboards/{made['id']}", json={"name": "Taken"}, headers=vera
        )
        foreign_drop = client.delete(f"/api/dashboards/{made['id']}", headers=vera)
        moved = [{**PANELS[0], "y": 4}, PANELS[1]]
        edited = client.put(
            f"/api/dashboards/{made['id']}",
            json={"name": "Pumps", "shared": False, "panels": moved},
            headers=bearer(issue_user_token(site.store, " maria ")),  # the same user
        )
        unshared = client.get(f"/api/dashboards/{made['id']}", headers=vera)
        dropped = client.delete(f"/api/dashboards/{veras['id']}", headers=vera)
        gone = client.get(f"/api/dashboards/{veras['id']}", headers=vera)
    assert shared.status_code == 201
    assert made["owner"] == "Maria" and made["shared"] is True and made["panels"] == PANELS
    assert listed == {"maria": ["Mine", "Pumps"], "vera": ["Pumps", "Vera's"]}
    assert read.status_code == 200 and read.json() == made
    assert hidden.status_code == 404
    assert foreign_edit.status_code == 403 and "Maria" in foreign_edit.json()["detail"]
    assert foreign_drop.status_code == 403
    assert edited.status_code == 200, edited.text
    assert edited.json()["panels"][0]["y"] == 4 and edited.json()["shared"] is False
    assert edited.json()["updated_at"] > made["updated_at"]
    assert unshared.status_code == 404
    assert dropped.status_code == 204 and gone.status_code == 404


def test_panels_off_the_grid_or_sharing_an_id_are_refused(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        headers = bearer(issue_token(site.store, "vera", "viewer"))

        def status(panels: list[dict[str, Any]]) -> int:
            body = {"name": "Bad", "panels": panels}
            return client.post("/api/dashboards", json=body, headers=headers).status_code

        answers = {
            "beyond column 12": status([{**PANELS[0], "x": 6, "w": 7}]),
            "unknown kind": status([{**PANELS[0], "kind": "pie"}]),
            "same id twice": status([PANELS[0], {**PANELS[1], "id": "flow"}]),
            "no height": status([{**PANELS[0], "h": 0}]),
        }
        unsigned = client.get("/api/dashboards")
        listed = client.get("/api/dashboards", headers=headers).json()
    assert answers == dict.fromkeys(answers, 422)
    assert unsigned.status_code == 401 and listed == []
