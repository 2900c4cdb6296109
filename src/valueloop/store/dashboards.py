"""Dashboards users build in the console, kept in the site's ``dashboards`` table.

A dashboard belongs to the user who made it (their name as the API knows it; compared regardless
of case and surrounding spaces, as user names are) and is shown to everyone when ``shared``. Its
panels are kept as the JSON the console sends; this book checks nothing of their content.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from valueloop.errors import ActionError
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS dashboards (
    dashboard_id VARCHAR PRIMARY KEY,
    owner VARCHAR NOT NULL,
    owner_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    shared BOOLEAN NOT NULL,
    panels VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
)
"""


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: who owns it, whether everyone sees it, and its panels."""

    dashboard_id: str
    owner: str
    name: str
    shared: bool
    panels: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime

    def visible_to(self, user: str) -> bool:
        """Whether ``user`` may see it: it is theirs, or shared."""
        return self.shared or self.owned_by(user)

    def owned_by(self, user: str) -> bool:
        """Whether ``user`` made it."""
        return _key(self.owner) == _key(user)


def _key(user: str) -> str:
    return user.strip().casefold()


def _dashboard(row: dict[str, Any]) -> Dashboard:
    return Dashboard(
        dashboard_id=row["dashboard_id"],
        owner=row["owner"],
        name=row["name"],
        shared=row["shared"],
        panels=json.loads(row["panels"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class DashboardBook:
    """The ``dashboards`` table of a site's database."""

    def __init__(self, database: DuckDBStore) -> None:
        self._database = database
        database.execute(_DDL)

    def visible_to(self, user: str) -> list[Dashboard]:
        """The dashboards ``user`` made and those shared, by name then id."""
        rows = self._database.query(
            "SELECT * FROM dashboards WHERE shared OR owner_key = ? ORDER BY name, dashboard_id",
            [_key(user)],
        )
        return [_dashboard(row) for row in rows.to_pylist()]

    def get(self, dashboard_id: str) -> Dashboard:
        """One dashboard; an unknown id is an :class:`ActionError`."""
        rows = self._database.query(
            "SELECT * FROM dashboards WHERE dashboard_id = ?", [dashboard_id]
        ).to_pylist()
        if not rows:
            raise ActionError(f"no dashboard {dashboard_id!r}")
        return _dashboard(rows[0])

    def create(
        self, owner: str, name: str, *, shared: bool, panels: list[dict[str, Any]]
    ) -> Dashboard:
        """Keep a new dashboard of ``owner``; return it with its id."""
        dashboard_id = f"DB-{uuid.uuid4().hex[:12]}"
        now = datetime.now(UTC)
        self._database.execute(
            "INSERT INTO dashboards VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [dashboard_id, owner, _key(owner), name, shared, json.dumps(panels), now, now],
        )
        return self.get(dashboard_id)

    def replace(
        self, dashboard_id: str, name: str, *, shared: bool, panels: list[dict[str, Any]]
    ) -> Dashboard:
        """Give a dashboard a new name, sharing and panels; return it as it is after."""
        changed = self._database.execute(
            "UPDATE dashboards SET name = ?, shared = ?, panels = ?, updated_at = ? "
            "WHERE dashboard_id = ?",
            [name, shared, json.dumps(panels), datetime.now(UTC), dashboard_id],
        )
        if not changed:
            raise ActionError(f"no dashboard {dashboard_id!r}")
        return self.get(dashboard_id)

    def delete(self, dashboard_id: str) -> None:
        """Drop a dashboard; an unknown id is an :class:`ActionError`."""
        if not self._database.execute(
            "DELETE FROM dashboards WHERE dashboard_id = ?", [dashboard_id]
        ):
            raise ActionError(f"no dashboard {dashboard_id!r}")
