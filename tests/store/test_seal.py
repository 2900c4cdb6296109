"""The site's audit key (environment or private key file), its anchor file and private files."""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from valueloop.errors import ConfigError, StoreError
from valueloop.packs.aviation import PACK
from valueloop.site import open_site
from valueloop.store.seal import ANCHOR_FILE, KEY_FILE, KEY_VARIABLE, Seal

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


@pytest.fixture
def shared_umask() -> Iterator[None]:
    """The common umask 022, under which new files are readable by everyone by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_site_gets_a_private_key_file_that_later_openings_reuse(tmp_path: Path) -> None:
    first = Seal.open(tmp_path)
    key_file = tmp_path / KEY_FILE
    assert _mode(key_file) == 0o600 and len(key_file.read_text().strip()) == 64
    again = Seal.open(tmp_path)
    assert again.chain_hash("0" * 64, "{}") == first.chain_hash("0" * 64, "{}")
    assert key_file.read_text().strip() not in repr(first)


def test_the_environment_key_is_used_and_no_key_file_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = secrets.token_hex(32)
    monkeypatch.setenv(KEY_VARIABLE, key)
    seal = Seal.open(tmp_path)
    assert not (tmp_path / KEY_FILE).exists()
    assert seal.chain_hash("", "x") == Seal(bytes.fromhex(key), None).chain_hash("", "x")


@pytest.mark.parametrize("text", ["not hex at all", "ab" * 31, "ab" * 33])
def test_a_malformed_environment_key_is_refused_without_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, text)
    with pytest.raises(ConfigError, match="64 hexadecimal digits") as refused:
        Seal.open(tmp_path)
    assert text not in str(refused.value)


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    Seal.open(tmp_path)
    key_file = tmp_path / KEY_FILE
    key_file.chmod(0o640)
    with pytest.raises(StoreError, match=f"mode 0640.*chmod 600 {key_file}"):
        Seal.open(tmp_path)
    key_file.chmod(0o600)
    Seal.open(tmp_path)


def test_a_lost_key_is_not_replaced_while_anchors_exist(tmp_path: Path) -> None:
    Seal.open(tmp_path).anchor("audit", 0, "0" * 64, T0)
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(StoreError, match=f"restore {tmp_path / KEY_FILE} or set {KEY_VARIABLE}"):
        Seal.open(tmp_path)


def test_anchor_lines_are_sealed_and_read_from_an_offset(tmp_path: Path) -> None:
    seal = Seal.open(tmp_path)
    seal.anchor("audit", 0, "0" * 64, T0)
    seal.anchor("audit", 2, "ab" * 32, T0)
    anchor_file = tmp_path / ANCHOR_FILE
    assert _mode(anchor_file) == 0o600
    read = seal.read_anchors()
    assert read is not None
    assert [(a.line, a.sealed, a.table, a.seq) for a in read.anchors] == [
        (1, True, "audit", 0),
        (2, True, "audit", 2),
    ]
    seal.anchor("ledger", 0, "0" * 64, T0)
    later = seal.read_anchors(read.offset, read.lines)
    assert later is not None and [(a.line, a.table) for a in later.anchors] == [(3, "ledger")]
    assert seal.read_anchors(anchor_file.stat().st_size + 1) is None  # shorter than read before


@pytest.mark.parametrize(
    "edit",
    [
        lambda line: {**line, "seq": 5},  # a head moved without the key
        lambda line: {**line, "mac": "00" * 32},
        lambda line: {**line, "extra": 1},
        lambda line: {k: v for k, v in line.items() if k != "mac"},
    ],
)
def test_an_anchor_line_changed_without_the_key_is_not_sealed(
    tmp_path: Path, edit: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    seal = Seal.open(tmp_path)
    seal.anchor("audit", 3, "cd" * 32, T0)
    anchor_file = tmp_path / ANCHOR_FILE
    line = json.loads(anchor_file.read_text())
    anchor_file.write_text(json.dumps(edit(line)) + "\n" + "not json\n")
    read = seal.read_anchors()
    assert read is not None and [a.sealed for a in read.anchors] == [False, False]


def test_a_partial_last_line_is_left_for_later(tmp_path: Path) -> None:
    seal = Seal.open(tmp_path)
    seal.anchor("audit", 0, "0" * 64, T0)
    with (tmp_path / ANCHOR_FILE).open("ab") as file:
        file.write(b'{"at":')
    read = seal.read_anchors()
    assert read is not None and len(read.anchors) == 1
    assert read.offset == len((tmp_path / ANCHOR_FILE).read_bytes()) - len(b'{"at":')


@pytest.mark.usefixtures("shared_umask")
def test_the_files_of_a_site_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    site = open_site(PACK.site_file, folder)
    try:
        site.store.execute("CHECKPOINT")  # DuckDB removes its write-ahead log ...
        site.store.execute("CREATE TABLE scratch AS SELECT 1 AS one")  # ... and makes a new one
        database = folder / "valueloop.duckdb"
        files = [database, Path(f"{database}.wal"), folder / KEY_FILE, folder / ANCHOR_FILE]
        files.append(folder / "site.yaml")
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
    finally:
        site.close()
