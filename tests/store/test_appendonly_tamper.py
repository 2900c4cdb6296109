"""A site's audit trail and ledger, written through their books, then tampered with in the database
file (or the anchor file) by someone without the audit key: every change is found and named.

Each test writes five audit entries and three ledger entries, closes the site, changes its files
with a plain DuckDB connection, opens the site again and verifies every sealed log.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from valueloop.errors import StoreError
from valueloop.packs.aviation import PACK
from valueloop.site import open_site
from valueloop.store.appendonly import GENESIS, UNKEYED, ChainReport, verify_logs
from valueloop.store.seal import ANCHOR_FILE, KEY_FILE, KEY_VARIABLE, Seal, canonical
from valueloop.value.ledger import LedgerEntry

AUDIT = [
    ("planner", "propose", '{"asset": "ENG-001", "setpoint": 72.5}'),
    ("maria", "approved", '{"from": "proposed", "comment": "go"}'),
    ("executor", "executing", '{"before": 70.0}'),
    ("executor", "write", '{"attempt": 1}'),
    ("executor", "executed", '{"read_back": 72.5}'),
]
INTACT_LEDGER = ChainReport("ledger", ok=True, checked=3, head_seq=3)


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The data directory of a site holding five audit entries and three ledger entries."""
    data = tmp_path / "data"
    _write_entries(data)
    return data


def _write_entries(data: Path) -> None:
    site = open_site(PACK.site_file, data)
    try:
        for actor, action, detail in AUDIT:
            site.work_orders.audit.append(
                [{"actor": actor, "action": action, "subject": "WO-1", "detail": detail}]
            )
        site.ledger.record(
            [
                LedgerEntry("policy", "predictive", "cost", 2.5e8, "USD"),
                LedgerEntry("policy", "run_to_failure", "cost", 5.25e8, "USD"),
            ],
            run_id="RUN-1",
            plan_id="PL-1",
            model_version="rul-a",
            assumptions={"horizon_days": 75},
        )
        site.ledger.record(
            [LedgerEntry("savings", "predictive", "money", 2.75e8, "USD")],
            run_id="RUN-2",
            plan_id="PL-2",
            model_version="rul-b",
            assumptions={"horizon_days": 75},
        )
    finally:
        site.close()


def _reports(data: Path) -> dict[str, ChainReport]:
    site = open_site(PACK.site_file, data)
    try:
        return {report.log: report for report in verify_logs(site.store)}
    finally:
        site.close()


@pytest.fixture
def database(folder: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A plain connection to the site's closed database file, as an intruder would open it."""
    connection = duckdb.connect(str(folder / "valueloop.duckdb"))
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def _broken(report: ChainReport) -> tuple[int | None, str]:
    assert not report.ok
    return report.first_broken, report.reason


def test_untouched_logs_verify(folder: Path) -> None:
    assert _reports(folder) == {
        "audit": ChainReport("audit", ok=True, checked=5, head_seq=5),
        "ledger": INTACT_LEDGER,
    }


@pytest.mark.parametrize(
    ("statement", "log", "first_broken"),
    [
        ("UPDATE audit SET detail = '{\"read_back\": 99}' WHERE seq = 5", "audit", 5),
        ("UPDATE audit SET action = 'rejected' WHERE seq = 2", "audit", 2),
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 2", "audit", 2),
        ("UPDATE ledger SET value = 1 WHERE seq = 3", "ledger", 3),
        ("UPDATE ledger SET recorded_at = recorded_at - INTERVAL 1 DAY WHERE seq = 1", "ledger", 1),
    ],
)
def test_an_edited_value_or_actor_is_found(
    folder: Path,
    database: duckdb.DuckDBPyConnection,
    statement: str,
    log: str,
    first_broken: int,
) -> None:
    database.execute(statement)
    database.close()
    reports = _reports(folder)
    assert _broken(reports[log]) == (first_broken, "hash does not match its content")
    other = "ledger" if log == "audit" else "audit"
    assert reports[other].ok


def test_rows_deleted_from_the_end_are_found(
    folder: Path, database: duckdb.DuckDBPyConnection
) -> None:
    database.execute("DELETE FROM audit WHERE seq >= 4")
    database.execute("DELETE FROM ledger WHERE seq = 3")
    database.close()
    reports = _reports(folder)
    assert _broken(reports["audit"]) == (
        4,
        "rows after seq 3 are missing: anchored head is seq 5",
    )
    assert _broken(reports["ledger"]) == (
        3,
        "rows after seq 2 are missing: anchored head is seq 3",
    )


def _rechain_unkeyed(database: duckdb.DuckDBPyConnection, table: str, start: int) -> None:
    """Recompute the plain SHA-256 chain from row ``start`` on, as the chain used to be made."""
    rows = database.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()
    names = [column[0] for column in database.description or []]
    previous = GENESIS
    for values in rows:
        row = dict(zip(names, values, strict=True))
        if row["seq"] >= start:
            content = {k: v for k, v in row.items() if k not in ("prev_hash", "hash")}
            content["recorded_at"] = row["recorded_at"].astimezone(UTC).isoformat()
            digest = hashlib.sha256((previous + canonical(content)).encode()).hexdigest()
            database.execute(
                f"UPDATE {table} SET prev_hash = ?, hash = ? WHERE seq = ?",
                [previous, digest, row["seq"]],
            )
            row["hash"] = digest
        previous = row["hash"]


def test_a_chain_recomputed_without_the_key_is_found(
    folder: Path, database: duckdb.DuckDBPyConnection
) -> None:
    database.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    _rechain_unkeyed(database, "audit", 2)
    database.execute("UPDATE ledger SET value = 1 WHERE seq = 2")
    database.execute("DELETE FROM ledger WHERE seq = 3")
    _rechain_unkeyed(database, "ledger", 2)
    database.close()
    reports = _reports(folder)
    assert _broken(reports["audit"]) == (2, UNKEYED)
    assert _broken(reports["ledger"]) == (2, UNKEYED)


def test_a_forged_anchor_is_found(folder: Path, database: duckdb.DuckDBPyConnection) -> None:
    """The last rows deleted, and an anchor of the shortened head sealed by another key."""
    database.execute("DELETE FROM audit WHERE seq >= 4")
    head = database.execute("SELECT hash FROM audit WHERE seq = 3").fetchall()[0][0]
    database.close()
    forged = folder.parent / "forged.anchor"
    Seal(secrets.token_bytes(32), forged).anchor("audit", 3, head, datetime.now(UTC))
    lines = _lines(folder)
    with (folder / ANCHOR_FILE).open("a", encoding="utf-8") as file:
        file.write(forged.read_text(encoding="utf-8"))
    reports = _reports(folder)
    assert _broken(reports["audit"]) == (
        4,
        f"anchor forged: line {lines + 1} of audit.anchor (head seq 3) is not sealed by the "
        "site key",
    )
    assert reports["ledger"] == INTACT_LEDGER


def _lines(folder: Path) -> int:
    return len((folder / ANCHOR_FILE).read_text(encoding="utf-8").splitlines())


def test_an_unreadable_anchor_line_concerns_every_log(folder: Path) -> None:
    lines = _lines(folder)
    with (folder / ANCHOR_FILE).open("a", encoding="utf-8") as file:
        file.write('{"table": "audit", "seq": 5}\n')
    reason = f"anchor forged: line {lines + 1} of audit.anchor is not sealed by the site key"
    reports = _reports(folder)
    assert _broken(reports["audit"]) == (6, reason)
    assert _broken(reports["ledger"]) == (4, reason)


def test_a_deleted_anchor_file_leaves_the_logs_unanchored(folder: Path) -> None:
    (folder / ANCHOR_FILE).unlink()
    missing = (
        1,
        "the anchor file audit.anchor is missing: the log's entries cannot be shown complete",
    )
    reports = _reports(folder)
    assert _broken(reports["audit"]) == missing and _broken(reports["ledger"]) == missing
    _write_entries(folder)  # new entries start a new anchor file: the gap stays visible
    reports = _reports(folder)
    assert _broken(reports["audit"]) == (
        1,
        "the anchors of this log start at seq 6, not at its creation: audit.anchor was "
        "removed or replaced",
    )


def test_a_wrong_key_is_found(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, secrets.token_hex(32))
    reason = (
        "no line of audit.anchor is sealed by this audit key: the key is not the site's "
        "(VALUELOOP_AUDIT_KEY or audit.key), or the anchor file was replaced"
    )
    reports = _reports(folder)
    assert _broken(reports["audit"]) == (1, reason) and _broken(reports["ledger"]) == (1, reason)


def test_a_key_from_the_environment_seals_the_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv(KEY_VARIABLE, secrets.token_hex(32))
    _write_entries(data)
    assert not (data / KEY_FILE).exists()
    assert all(report.ok for report in _reports(data).values())
    monkeypatch.delenv(KEY_VARIABLE)
    with pytest.raises(StoreError, match=r"audit key .* is missing but its anchor file exists"):
        open_site(PACK.site_file, data)
