"""The books of Sparkplug births, the site's ``births`` table and the edge outbox's: kept per
connector, replaced by later births, dropped with the session, and kept across reopening."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from valueloop.connectors.sparkplug.births import BirthBook
from valueloop.edge.births import OutboxBirths
from valueloop.edge.outbox import Outbox
from valueloop.store.births import BirthCertificates
from valueloop.store.duckdb import DuckDBStore


@contextmanager
def site_book(folder: Path) -> Iterator[BirthBook]:
    database = DuckDBStore(folder / "site.duckdb")
    try:
        yield BirthCertificates(database)
    finally:
        database.close()


@contextmanager
def edge_book(folder: Path) -> Iterator[BirthBook]:
    outbox = Outbox(folder / "outbox.sqlite", edge="edge-1")
    try:
        yield OutboxBirths(outbox)
    finally:
        outbox.close()


BOOKS: dict[str, Callable[[Path], AbstractContextManager[BirthBook]]] = {
    "site": site_book,
    "edge": edge_book,
}


def kept(book: BirthBook, connector: str) -> list[tuple[str, str, str, bytes]]:
    return [(b.group, b.edge_node, b.device, b.payload) for b in book.births(connector)]


@pytest.mark.parametrize("where", sorted(BOOKS))
def test_births_are_replaced_by_later_births_and_survive_reopening(
    where: str, tmp_path: Path
) -> None:
    with BOOKS[where](tmp_path) as book:
        book.keep("host-a", "line1", "edge-1", "", b"nbirth 1")
        book.keep("host-a", "line1", "edge-1", "pump-1", b"dbirth 1")
        book.keep("host-a", "line1", "edge-1", "pump-1", b"dbirth 2")
        book.keep("host-a", "line1", "edge-2", "", b"other node")
        book.keep("host-b", "line1", "edge-1", "", b"another host's")

    with BOOKS[where](tmp_path) as book:
        assert kept(book, "host-a") == [
            ("line1", "edge-1", "", b"nbirth 1"),
            ("line1", "edge-1", "pump-1", b"dbirth 2"),
            ("line1", "edge-2", "", b"other node"),
        ]
        book.keep("host-a", "line1", "edge-1", "", b"nbirth 2")  # a new session: devices reborn
        assert [row[3] for row in kept(book, "host-a")] == [b"nbirth 2", b"other node"]
        book.forget("host-a", "line1", "edge-2")
        assert [row[3] for row in kept(book, "host-a")] == [b"nbirth 2"]
        assert [row[3] for row in kept(book, "host-b")] == [b"another host's"]
