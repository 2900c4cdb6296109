"""``users``, ``workorders`` and ``report`` on a site's store in a temporary folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from tests.api.fleet import Fleet, populate
from typer.testing import CliRunner

from valueloop.api.auth import authenticate, issue_token
from valueloop.cli import report, users, workorders
from valueloop.errors import AuthError
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


def _token(data_dir: Path, name: str, role: str) -> str:
    site = _site(data_dir)
    try:
        return issue_token(site.store, name, role)
    finally:
        site.close()


def _as(token: str, data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        workorders.app,
        [*args, "--data-dir", str(data_dir), "--site", str(PACK.site_file)],
        env={"VALUELOOP_TOKEN": token, "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def test_workorders_act_as_the_user_of_the_token(data_dir: Path, fleet: Fleet) -> None:
    first, second, _ = fleet.order_ids
    maria = _token(data_dir, "maria", "approver")
    tom = _token(data_dir, "tom", "approver")
    olga = _token(data_dir, "olga", "operator")
    listing = _run(workorders.app, data_dir, "list", "--status", "proposed")
    assert all(order in listing for order in fleet.order_ids)
    assert _as(maria, data_dir, "approve", first, "--comment", "ok") == (
        0,
        f"{first} approved (maintenance: )\n",
    )
    code, output = _as(olga, data_dir, "reject", second)
    assert code == 1 and "olga holds the role operator" in output
    assert _as(tom, data_dir, "reject", second)[0] == 0
    assert first not in _run(workorders.app, data_dir, "list", "--status", "proposed")
    trail = _run(workorders.app, data_dir, "audit", first)
    assert "maria" in trail and "approved" in trail and "planner:cp-sat" in trail
    assert "tom" in _run(workorders.app, data_dir, "audit")
    code, output = _as(maria, data_dir, "approve", first)
    assert code == 1 and "only a proposed order" in output
    code, output = _as("vl_nope_nope", data_dir, "approve", first)
    assert code == 2 and "VALUELOOP_TOKEN" in output


def test_report_command_writes_the_file(data_dir: Path, fleet: Fleet, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(report.report)
    out = tmp_path / "reports" / "fleet.html"
    assert f"report written to {out}" in _run(app, data_dir, "--out", str(out))
    assert fleet.plan_id in out.read_text(encoding="utf-8")
    assert "report written to" in _run(app, data_dir)
    assert (data_dir / "report.html").is_file()
