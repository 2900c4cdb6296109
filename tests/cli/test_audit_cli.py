"""``valueloop audit verify`` run as its own process on a site's data directory."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from valueloop.cli.app import app
from valueloop.errors import StoreError
from valueloop.packs.aviation import PACK
from valueloop.site import open_site
from valueloop.store.seal import KEY_FILE, KEY_VARIABLE
from valueloop.value.ledger import LedgerEntry


def _site_with_entries(folder: Path) -> Path:
    """A site in ``folder`` with three audit entries and one ledger entry."""
    site = open_site(PACK.site_file, folder)
    try:
        site.work_orders.audit.append(
            [
                {"actor": "planner", "action": "propose", "subject": "WO-1", "detail": "{}"},
                {"actor": "maria", "action": "approved", "subject": "WO-1", "detail": "{}"},
                {"actor": "executor", "action": "executing", "subject": "WO-1", "detail": "{}"},
            ]
        )
        site.ledger.record(
            [LedgerEntry("policy", "predictive", "cost", 2.5e8, "USD")],
            run_id="RUN-1",
            plan_id="PL-1",
            model_version="rul-a",
            assumptions={},
        )
    finally:
        site.close()
    return folder


def _verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "valueloop", "audit", "verify", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_verify_says_ok_then_names_the_first_missing_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    folder = _site_with_entries(tmp_path / "data")
    intact = _verify(folder)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.splitlines() == [
        "audit: 3 rows checked, head seq 3: OK",
        "ledger: 1 row checked, head seq 1: OK",
    ]
    with duckdb.connect(str(folder / "valueloop.duckdb")) as database:
        database.execute("DELETE FROM audit WHERE seq = 3")
    broken = _verify(folder)
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.splitlines() == [
        "audit: 2 rows checked, head seq 2: BROKEN at seq 3: rows after seq 2 are missing: "
        "anchored head is seq 3",
        "ledger: 1 row checked, head seq 1: OK",
    ]


def test_the_key_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, secrets.token_hex(32))
    folder = _site_with_entries(tmp_path / "data")
    assert not (folder / KEY_FILE).exists()
    intact = _verify(folder)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.endswith("ledger: 1 row checked, head seq 1: OK\n")


def test_a_key_file_others_may_read_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    folder = _site_with_entries(tmp_path / "data")
    key_file = folder / KEY_FILE
    key_file.chmod(0o644)
    with pytest.raises(StoreError, match=re.escape(f"chmod 600 {key_file}")) as refused:
        CliRunner().invoke(
            app, ["audit", "verify", "--data-dir", str(folder)], catch_exceptions=False
        )
    assert key_file.read_text(encoding="ascii").strip() not in str(refused.value)
