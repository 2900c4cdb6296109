"""One writer for many processes: the way to share the embedded store.

DuckDB lets one process open a database file for writing. :class:`StoreService` is that process's
door: it listens on a local socket (``multiprocessing.connection``, with an authentication key),
queues the batches producers send and writes them one at a time through a single writer thread, in
arrival order; each producer's call returns once its batch is stored (or with the store's error).
Readers in other processes ask the same service; a read runs between two writes, never during one,
so no reader sees half a batch. Batches travel as Arrow IPC streams.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict
from datetime import datetime
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

import pyarrow as pa

from valueloop.errors import StoreError, ValueloopError
from valueloop.store.base import TimeSeriesStore, WriteReport


def _to_ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue()


def _from_ipc(payload: bytes) -> pa.Table:
    with pa.ipc.open_stream(payload) as reader:
        return reader.read_all()


class StoreService:
    """Serve a store's writes (through one writer thread) and reads to other processes."""

    def __init__(self, store: TimeSeriesStore, address: str, authkey: bytes) -> None:
        self.store = store
        self._listener = Listener(address, family="AF_UNIX", authkey=authkey)
        self.address = address
        self._writes: queue.Queue[tuple[pa.Table, Future[WriteReport]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()

    def start(self) -> StoreService:
        """Start accepting producers and readers."""
        for target in (self._write_loop, self._accept_loop):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        """Stop accepting, finish the queued writes and stop the writer thread."""
        self._closing.set()
        self._writes.put(None)
        self._listener.close()
        self._threads[0].join(timeout=30)

    def submit(self, batch: pa.Table) -> Future[WriteReport]:
        """Queue a batch for the writer thread; the future resolves when it is stored."""
        future: Future[WriteReport] = Future()
        self._writes.put((batch, future))
        return future

    def _write_loop(self) -> None:
        while (item := self._writes.get()) is not None:
            batch, future = item
            try:
                future.set_result(self.store.write(batch))
            except ValueloopError as err:
                future.set_exception(err)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                connection = self._listener.accept()
            except AuthenticationError:
                continue  # a client without the key: refused, keep serving the others
            except (OSError, EOFError):
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()

    def _serve(self, connection: Connection) -> None:
        with connection:
            while True:
                try:
                    request = connection.recv()
                except (EOFError, OSError):
                    return
                connection.send(self._answer(request))

    def _answer(self, request: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            if request[0] == "write":
                report = self.submit(_from_ipc(request[1])).result()
                return ("ok", asdict(report))
            if request[0] == "read":
                _, series, start, end = request
                return ("ok", _to_ipc(self.store.read(series, start, end)))
            return ("error", f"unknown request {request[0]!r}")
        except ValueloopError as err:
            return ("error", str(err))


class StoreClient:
    """A producer's or reader's handle on a :class:`StoreService` in another process."""

    def __init__(self, address: str, authkey: bytes) -> None:
        try:
            self._connection = Client(address, family="AF_UNIX", authkey=authkey)
        except AuthenticationError as err:
            raise StoreError(f"the store service at {address} refused the key") from err
        except OSError as err:
            raise StoreError(f"no store service at {address}: start it first ({err})") from err

    def _ask(self, request: tuple[Any, ...]) -> Any:
        self._connection.send(request)
        status, payload = self._connection.recv()
        if status != "ok":
            raise StoreError(str(payload))
        return payload

    def write(self, batch: pa.Table) -> WriteReport:
        """Send a batch; returns once the service has stored it."""
        return WriteReport(**self._ask(("write", _to_ipc(batch))))

    def read(
        self, series: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """Points of ``series`` in ``[start, end)``, read between two writes."""
        return _from_ipc(self._ask(("read", list(series), start, end)))

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()
