"""The audit seal of a site: a secret key and an anchor file, both kept outside the database.

A site's append-only logs (the audit trail, the value ledger) chain their rows with HMAC-SHA256
under a 32-byte site key, so that nobody without the key can edit a row and recompute the chain.
After every append the log's new head (table, sequence number, hash, time) is appended as one line
to ``audit.anchor`` in the data directory, opened for appending only, with mode 0600 and synced to
disk. Each line carries its own HMAC under the key, so it cannot be forged, and rows deleted from
the end of a log are found: the anchor names a later head than the table holds.

The key is ``VALUELOOP_AUDIT_KEY`` when set: 64 hexadecimal digits (32 bytes), e.g. the output of
``python -c "import secrets; print(secrets.token_hex(32))"``. Otherwise it is the file
``<data_dir>/audit.key`` (the same 64 digits), created with mode 0600 when the site is first
opened; a key file that group or others may read is refused. The key is never logged or shown.

What the seal cannot see: whoever holds the key can rewrite anything, and a database and an anchor
file rolled back together to an earlier copy agree with each other. Keeping the key in the
environment, away from the data directory, and copying the anchor lines off the host guard
against those.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from valueloop.errors import ConfigError, StoreError

KEY_VARIABLE = "VALUELOOP_AUDIT_KEY"
KEY_FILE = "audit.key"
ANCHOR_FILE = "audit.anchor"
KEY_BYTES = 32
PRIVATE = 0o600
"""The mode of every file the seal creates: read and write by the owner only."""

_ANCHOR_DOMAIN = b"anchor\n"
"""Prefixes what an anchor's HMAC covers; a row's starts with a hexadecimal hash instead."""


def canonical(record: Mapping[str, Any]) -> str:
    """The text a record is hashed as: JSON with sorted keys and no spaces."""
    return json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class Anchor:
    """One line of the anchor file: the head of a log after an append (``seq`` 0: its creation).

    ``line`` counts from 1. ``sealed`` is False for a line that does not parse or whose HMAC is
    not the key's; ``table``, ``seq`` and ``hash`` are then what it claims, when readable.
    """

    line: int
    sealed: bool
    table: str | None = None
    seq: int | None = None
    hash: str | None = None


@dataclass(frozen=True)
class AnchorRead:
    """The anchors read from a byte offset on, the offset after them and the lines read in all."""

    anchors: list[Anchor]
    offset: int
    lines: int


class Seal:
    """The key that chains a site's append-only logs and the anchor file of their heads.

    ``anchor_file`` None keeps the anchors in memory, for a database in memory.
    """

    def __init__(self, key: bytes, anchor_file: Path | None) -> None:
        if len(key) != KEY_BYTES:
            raise StoreError(f"an audit key is {KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self.anchor_file = anchor_file
        self._memory = bytearray()

    def __repr__(self) -> str:
        return f"Seal(anchor_file={str(self.anchor_file)!r})"

    @classmethod
    def open(cls, folder: Path) -> Seal:
        """The seal of the data directory ``folder``: its key and ``folder/audit.anchor``.

        The key is ``VALUELOOP_AUDIT_KEY`` or ``folder/audit.key``, created if the folder has
        neither a key file nor an anchor file yet (an anchor without its key is an error).
        """
        try:
            key = _site_key(Path(folder))
        except OSError as err:
            raise StoreError(f"cannot read or create the audit key in {folder}: {err}") from err
        return cls(key, Path(folder) / ANCHOR_FILE)

    @classmethod
    def in_memory(cls) -> Seal:
        """A seal with a random key and its anchors in memory, for a database in memory."""
        return cls(secrets.token_bytes(KEY_BYTES), None)

    @property
    def anchor_name(self) -> str:
        """The anchor file's name, for messages."""
        return ANCHOR_FILE if self.anchor_file is None else self.anchor_file.name

    def has_anchors(self) -> bool:
        """Whether the anchor file exists (always, in memory)."""
        return self.anchor_file is None or self.anchor_file.exists()

    def chain_hash(self, previous: str, content: str) -> str:
        """HMAC-SHA256 (hexadecimal) of a row's canonical ``content`` after ``previous`` hash."""
        return hmac.new(self._key, (previous + content).encode(), hashlib.sha256).hexdigest()

    def sign(self, purpose: str, content: str) -> str:
        """HMAC-SHA256 (hexadecimal) of ``content`` under a key derived from the site key for
        ``purpose`` (the HMAC of ``b"sign\\n" + purpose`` under the site key), so a signature can
        pass neither for a chain hash nor for an anchor's, nor for another purpose's."""
        derived = hmac.new(self._key, b"sign\n" + purpose.encode(), hashlib.sha256).digest()
        return hmac.new(derived, content.encode(), hashlib.sha256).hexdigest()

    def anchor(self, table: str, seq: int, digest: str, at: datetime) -> None:
        """Append the head of ``table`` (its last ``seq`` and hash, at ``at``) to the anchors."""
        fields = {"at": at.isoformat(), "hash": digest, "seq": seq, "table": table}
        line = (canonical({**fields, "mac": self._mac(fields)}) + "\n").encode()
        if self.anchor_file is None:
            self._memory += line
            return
        try:
            _append_synced(self.anchor_file, line)
        except OSError as err:
            raise StoreError(
                f"cannot write the audit anchor {self.anchor_file}: {err}; the entries are "
                "stored but not anchored, so verification will report them"
            ) from err

    def read_anchors(self, offset: int = 0, lines: int = 0) -> AnchorRead | None:
        """The complete lines from byte ``offset`` on (``lines`` lines precede it).

        None if the anchor file is missing or shorter than ``offset``: it was replaced.
        """
        data = self._anchor_bytes(offset)
        if data is None:
            return None
        end = data.rfind(b"\n") + 1
        anchors = [
            self._parse(number, raw)
            for number, raw in enumerate(data[:end].splitlines(), start=lines + 1)
        ]
        return AnchorRead(anchors=anchors, offset=offset + end, lines=lines + len(anchors))

    def _anchor_bytes(self, offset: int) -> bytes | None:
        if self.anchor_file is None:
            return bytes(self._memory[offset:])
        try:
            with self.anchor_file.open("rb") as file:
                if os.fstat(file.fileno()).st_size < offset:
                    return None
                file.seek(offset)
                return file.read()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StoreError(f"cannot read the audit anchor {self.anchor_file}: {err}") from err

    def _mac(self, fields: Mapping[str, Any]) -> str:
        message = _ANCHOR_DOMAIN + canonical(fields).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _parse(self, number: int, raw: bytes) -> Anchor:
        try:
            record = json.loads(raw)
            fields = {name: record[name] for name in ("at", "hash", "seq", "table")}
            mac = record["mac"]
        except (ValueError, KeyError, TypeError, RecursionError):
            return Anchor(number, sealed=False)
        table = fields["table"] if isinstance(fields["table"], str) else None
        seq = fields["seq"] if type(fields["seq"]) is int else None
        digest = fields["hash"] if isinstance(fields["hash"], str) else None
        sealed = (
            None not in (table, seq, digest)
            and isinstance(mac, str)
            and len(record) == len(fields) + 1
            and hmac.compare_digest(mac.encode(), self._mac(fields).encode())
        )
        return Anchor(number, sealed=sealed, table=table, seq=seq, hash=digest)


def _site_key(folder: Path) -> bytes:
    """The key of ``VALUELOOP_AUDIT_KEY``, else of the key file (created if the site is new)."""
    configured = os.environ.get(KEY_VARIABLE)
    if configured:
        return _key_from_hex(configured, KEY_VARIABLE, ConfigError)
    path = folder / KEY_FILE
    if not path.exists():
        if (folder / ANCHOR_FILE).exists():
            raise StoreError(
                f"the audit key of {folder} is missing but its anchor file exists: restore "
                f"{path} or set {KEY_VARIABLE}; a new key would not verify the logs"
            )
        _create_key(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StoreError(
            f"the audit key file {path} may be read by group or others (mode {mode:04o}); "
            f"make it private with: chmod 600 {path}"
        )
    return _key_from_hex(path.read_text(encoding="ascii", errors="replace"), str(path), StoreError)


def _key_from_hex(text: str, source: str, error: type[ConfigError | StoreError]) -> bytes:
    """The 32 bytes of 64 hexadecimal digits; an error naming ``source``, never the text."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise error(
            f"the audit key in {source} is not {2 * KEY_BYTES} hexadecimal digits "
            f"({KEY_BYTES} bytes); make one with: "
            'python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return key


def _create_key(path: Path) -> None:
    """Write a new random key to ``path`` (mode 0600); keep the key a concurrent opener wrote."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return
    try:
        os.fchmod(descriptor, PRIVATE)
        _write_all(descriptor, (secrets.token_hex(KEY_BYTES) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    _sync_folder(path.parent)


def _append_synced(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created with mode 0600) and sync it to disk."""
    created = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
    try:
        if created:
            os.fchmod(descriptor, PRIVATE)
        _write_all(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        _sync_folder(path.parent)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _sync_folder(folder: Path) -> None:
    """Sync a folder, so that a file just created in it survives a crash."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
