"""Where a Sparkplug host keeps the birth certificates of edge nodes across its own restarts.

The host hands every NBIRTH and DBIRTH it accepts to a :class:`BirthBook` and tells it when an
NDEATH ends a node's session; when it starts it reads the births kept, so that data by alias from
nodes born before the restart is decoded at once. The site's implementation is
:class:`valueloop.store.births.BirthCertificates`; a host without a book keeps births in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class KeptBirth(Protocol):
    """A birth as the book kept it: whose it is (device "" for the node) and its payload."""

    @property
    def group(self) -> str: ...

    @property
    def edge_node(self) -> str: ...

    @property
    def device(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


class BirthBook(Protocol):
    """Births kept per connector, replaced by later births, dropped when a session ends."""

    def births(self, connector: str) -> Sequence[KeptBirth]:
        """The births ``connector`` kept, node births before device births."""
        ...

    def keep(self, connector: str, group: str, edge_node: str, device: str, payload: bytes) -> None:
        """Keep a birth, replacing the earlier one; a node's birth drops its devices' births."""
        ...

    def forget(self, connector: str, group: str, edge_node: str) -> None:
        """Drop the births of an edge node and its devices."""
        ...
