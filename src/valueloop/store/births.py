"""Birth certificates of Sparkplug edge nodes and devices, kept in the site's ``births`` table.

A Sparkplug host learns each metric's name, datatype, unit and alias from the NBIRTH and DBIRTH
messages of an edge node's session; data messages name metrics by alias only. Kept here, a host
that restarts decodes the data of nodes born before it came back without asking them to be born
again. One row per connector, edge node and device (device "" for the node's own NBIRTH) holding
the birth's payload as received:

- an NBIRTH replaces the node's row and drops its devices' rows (a new session redefines them);
- a DBIRTH replaces its device's row;
- an NDEATH that ends the session drops the node's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS births (
    connector VARCHAR NOT NULL,
    group_id VARCHAR NOT NULL,
    edge_node VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    payload BLOB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connector, group_id, edge_node, device)
)
"""


@dataclass(frozen=True)
class BirthCertificate:
    """One kept birth: whose it is and its payload as the edge node published it."""

    group: str
    edge_node: str
    device: str
    payload: bytes


class BirthCertificates:
    """The ``births`` table of a site's database."""

    def __init__(self, database: DuckDBStore) -> None:
        self._database = database
        database.execute(_DDL)

    def births(self, connector: str) -> Sequence[BirthCertificate]:
        """The births ``connector`` kept, node births before device births."""
        rows = self._database.query(
            "SELECT group_id, edge_node, device, payload FROM births WHERE connector = ? "
            "ORDER BY group_id, edge_node, device",
            [connector],
        ).to_pylist()
        return [
            BirthCertificate(row["group_id"], row["edge_node"], row["device"], row["payload"])
            for row in rows
        ]

    def keep(self, connector: str, group: str, edge_node: str, device: str, payload: bytes) -> None:
        """Keep a birth, replacing the earlier one; a node's birth drops its devices' births."""
        if device:
            self._database.execute(
                "DELETE FROM births WHERE connector = ? AND group_id = ? AND edge_node = ? "
                "AND device = ?",
                [connector, group, edge_node, device],
            )
        else:
            self.forget(connector, group, edge_node)
        self._database.execute(
            "INSERT INTO births VALUES (?, ?, ?, ?, ?, ?)",
            [connector, group, edge_node, device, payload, datetime.now(UTC)],
        )

    def forget(self, connector: str, group: str, edge_node: str) -> None:
        """Drop the births of an edge node and its devices (its session ended)."""
        self._database.execute(
            "DELETE FROM births WHERE connector = ? AND group_id = ? AND edge_node = ?",
            [connector, group, edge_node],
        )
