"""``users``, ``workorders`` and ``report`` on a site's store in a temporary folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from tests.api.fleet import Fleet, populate
from typer.testing import CliRunner

from valueloop.api.auth import authenticate
from valueloop.cli import report, users, workorders
from valueloop.errors import ActionError, AuthError
from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough for whole table rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def fleet(data_dir: Path) -> Fleet:
    site = open_site(PACK.site_file, data_dir)
    try:
        return populate(site)
    finally:
        site.close()


def _run(app: typer.Typer, data_dir: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "--site", str(PACK.site_file)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def _site(data_dir: Path) -> Site:
    return open_site(PACK.site_file, data_dir)


def test_users_add_list_revoke(data_dir: Path) -> None:
    token = _run(users.app, data_dir, "add", "maria", "--role", "operator").strip()
    site = _site(data_dir)
    try:
        assert authenticate(site.store, token).name == "maria"
        stored = site.store.query("SELECT token_hash FROM api_tokens").column(0)[0].as_py()
        assert stored == hashlib.sha256(token.split("_", 2)[2].encode()).hexdigest()
    finally:
        site.close()
    listing = _run(users.app, data_dir, "list")
    token_id = token.split("_")[1]
    assert "maria" in listing and "operator" in listing and token_id in listing
    assert token.split("_", 2)[2] not in listing
    assert f"token {token_id} revoked" in _run(users.app, data_dir, "revoke", token_id)
    site = _site(data_dir)
    try:
        with pytest.raises(AuthError):
            authenticate(site.store, token)
    finally:
        site.close()


def test_users_add_refuses_an_unknown_role(data_dir: Path) -> None:
    arguments = ["add", "maria", "--role", "root", "--data-dir", str(data_dir)]
    result = runner.invoke(users.app, arguments)
    assert result.exit_code == 2 and "root" in result.output


def test_workorders_list_approve_reject_audit(data_dir: Path, fleet: Fleet) -> None:
    first, second, _ = fleet.order_ids
    listing = _run(workorders.app, data_dir, "list", "--status", "proposed")
    assert all(order in listing for order in fleet.order_ids)
    approved = _run(workorders.app, data_dir, "approve", first, "--by", "maria", "--comment", "ok")
    assert approved.strip() == f"{first} approved by maria"
    rejected = _run(workorders.app, data_dir, "reject", second, "--by", "tom")
    assert rejected.strip() == f"{second} rejected by tom"
    assert first not in _run(workorders.app, data_dir, "list", "--status", "proposed")
    trail = _run(workorders.app, data_dir, "audit", first)
    assert "maria" in trail and "approved" in trail and "planner:cp-sat" in trail
    assert "tom" in _run(workorders.app, data_dir, "audit")
    with pytest.raises(ActionError, match="cannot become approved"):
        _run(workorders.app, data_dir, "approve", first, "--by", "maria")


def test_report_command_writes_the_file(data_dir: Path, fleet: Fleet, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(report.report)
    out = tmp_path / "reports" / "fleet.html"
    assert f"report written to {out}" in _run(app, data_dir, "--out", str(out))
    assert fleet.plan_id in out.read_text(encoding="utf-8")
    assert "report written to" in _run(app, data_dir)
    assert (data_dir / "report.html").is_file()
