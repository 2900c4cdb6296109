"""Sparkplug births kept by the edge agent in its outbox's database, across its own restarts.

The edge's Sparkplug host connectors keep every NBIRTH and DBIRTH they accept in the ``births``
table of the outbox's SQLite file, each change committed durably before the host reads on; a
restarted agent restores them, so that it decodes data by alias from nodes born before it came
back without asking them to be born again. The rules are those of the centre's books
(:mod:`valueloop.store.births`): one row per connector, edge node and device (device "" for the
node's own NBIRTH) holding the birth's payload as received; an NBIRTH replaces the node's row and
drops its devices' rows, a DBIRTH replaces its device's row, an NDEATH ending the session drops
the node's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from valueloop.edge.outbox import Outbox

_DDL = """CREATE TABLE IF NOT EXISTS births (
    connector TEXT NOT NULL,
    group_id TEXT NOT NULL,
    edge_node TEXT NOT NULL,
    device TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (connector, group_id, edge_node, device)
)"""


@dataclass(frozen=True)
class EdgeBirth:
    """One kept birth: whose it is and its payload as the edge node published it."""

    group: str
    edge_node: str
    device: str
    payload: bytes


class OutboxBirths:
    """The ``births`` table of an edge's outbox: a Sparkplug host's
    :class:`~valueloop.connectors.sparkplug.births.BirthBook`."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        with outbox.transaction() as db:
            db.execute(_DDL)

    def births(self, connector: str) -> Sequence[EdgeBirth]:
        """The births ``connector`` kept, node births before device births."""
        with self._outbox.transaction() as db:
            rows = db.execute(
                "SELECT group_id, edge_node, device, payload FROM births WHERE connector = ? "
                "ORDER BY group_id, edge_node, device",
                (connector,),
            ).fetchall()
        return [EdgeBirth(*row) for row in rows]

    def keep(self, connector: str, group: str, edge_node: str, device: str, payload: bytes) -> None:
        """Keep a birth, replacing the earlier one; a node's birth drops its devices' births."""
        with self._outbox.transaction() as db:
            if not device:
                db.execute(
                    "DELETE FROM births WHERE connector = ? AND group_id = ? AND edge_node = ?",
                    (connector, group, edge_node),
                )
            db.execute(
                "INSERT OR REPLACE INTO births VALUES (?, ?, ?, ?, ?, ?)",
                (connector, group, edge_node, device, payload, datetime.now(UTC).isoformat()),
            )

    def forget(self, connector: str, group: str, edge_node: str) -> None:
        """Drop the births of an edge node and its devices (its session ended)."""
        with self._outbox.transaction() as db:
            db.execute(
                "DELETE FROM births WHERE connector = ? AND group_id = ? AND edge_node = ?",
                (connector, group, edge_node),
            )
