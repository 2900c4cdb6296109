"""The principal of a command: the user of the token in VALUELOOP_TOKEN or a token file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from valueloop.api.auth import Principal, issue_token, revoke_token
from valueloop.cli import users
from valueloop.cli.identity import TOKEN_ENV, cli_principal
from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def token(data_dir: Path) -> str:
    """An approver's token, issued in the site's store."""
    site = open_site(PACK.site_file, data_dir)
    try:
        return issue_token(site.store, "Maria", "approver")
    finally:
        site.close()


@pytest.fixture
def site(data_dir: Path, token: str) -> Iterator[Site]:
    opened = open_site(PACK.site_file, data_dir)
    yield opened
    opened.close()


def _whoami(data_dir: Path, token: str | None, *args: str) -> Result:
    arguments = ["whoami", *args, "--data-dir", str(data_dir), "--site", str(PACK.site_file)]
    result = runner.invoke(users.app, arguments, env={TOKEN_ENV: token})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_the_token_in_the_environment_names_the_user(data_dir: Path, token: str) -> None:
    result = _whoami(data_dir, f"  {token}\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Maria (approver)"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_without_a_token_the_command_stops(data_dir: Path, token: str, value: str | None) -> None:
    result = _whoami(data_dir, value)
    assert result.exit_code == 2 and result.stdout == ""
    message = result.stderr
    assert f"no API token in {TOKEN_ENV}" in message
    assert "valueloop users add NAME --role ROLE" in message


def test_a_revoked_or_unknown_token_stops_the_command(data_dir: Path, token: str) -> None:
    site = open_site(PACK.site_file, data_dir)
    try:
        revoke_token(site.store, token.split("_")[1])
    finally:
        site.close()
    for refused in (token, "vl_deadbeef_secret", "nonsense"):
        result = _whoami(data_dir, refused)
        assert result.exit_code == 2
        message = result.stderr
        assert f"the token in {TOKEN_ENV} is refused (unknown or revoked token)" in message
        assert "valueloop users add" in message
        assert token.split("_", 2)[2] not in result.output


def test_a_token_file_readable_by_its_owner_only(
    data_dir: Path, token: str, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o644)
    loose = _whoami(data_dir, None, "--token-file", str(path))
    assert loose.exit_code == 2
    assert f"may be read by others (mode 0644); run `chmod 600 {path}`" in loose.stderr
    path.chmod(0o600)
    # the file wins over the environment
    result = _whoami(data_dir, "vl_deadbeef_secret", "--token-file", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Maria (approver)"
    missing = _whoami(data_dir, token, "--token-file", str(tmp_path / "absent"))
    assert missing.exit_code == 2 and "cannot read token file" in missing.stderr


def test_cli_principal_called_directly(
    site: Site, token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, token)
    assert cli_principal(site.store) == Principal("Maria", "approver")
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(typer.Exit) as stopped:
        cli_principal(site.store)
    assert stopped.value.exit_code == 2
    assert capsys.readouterr().err.startswith(f"error: no API token in {TOKEN_ENV}")
