"""``valueloop users``: add the people and systems that use the API, issue, rotate, list and
revoke their tokens, and tell who a token belongs to.

Every token expires, 90 days after it is issued unless ``--expires-in`` says otherwise (``30d``,
``12h``, ``90m``, ``45s``). A command refused (a name taken, an unknown user or token) prints why
and exits with code 1. These commands open the site's store, which a running ``valueloop serve``
holds: while it runs, an admin manages users through its API (``/api/users``) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from valueloop.api.auth import (
    TOKEN_LIFETIME,
    Role,
    TokenInfo,
    describe_token,
    issue_token,
    issue_user_token,
    list_tokens,
    parse_lifetime,
    revoke_token,
    rotate_user_token,
    set_user_role,
)
from valueloop.cli.identity import TokenFile, cli_principal
from valueloop.cli.sitecmd import (
    DEFAULT_DATA_DIR,
    DEFAULT_SITE,
    DataDir,
    SiteFile,
    opened_site,
    print_rows,
)
from valueloop.errors import DataError, ValueloopError

if TYPE_CHECKING:
    from valueloop.store.duckdb import DuckDBStore

app = typer.Typer(help="API users and their tokens.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The user; any case, as added.")]
_ROLE_HELP = (
    "viewer (reads), operator (proposes work orders, handles alarms), approver (approves and "
    "rejects work orders, requests rollbacks), admin (everything) or ingest (sends data only)."
)


def _lifetime(text: str) -> timedelta:
    try:
        return parse_lifetime(text)
    except DataError as err:
        raise typer.BadParameter(str(err)) from err


ExpiresIn = Annotated[
    timedelta | None,
    typer.Option(
        "--expires-in",
        parser=_lifetime,
        metavar="LIFETIME",
        help=(
            "How long the token is valid: a number and s, m, h or d, e.g. 30d "
            f"(default {TOKEN_LIFETIME.days}d)."
        ),
    ),
]


@contextmanager
def _refused() -> Iterator[None]:
    """Turn a refusal into its message on stderr and exit code 1."""
    try:
        yield
    except ValueloopError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err


def _issue(
    site: Path | None, data_dir: Path, issue: Callable[[DuckDBStore], str], also: str = ""
) -> None:
    """Issue a token with ``issue`` in the site's store and show it once."""
    with _refused(), opened_site(site, data_dir) as opened:
        token = issue(opened.store)
        info = describe_token(opened.store, token)
    _show_once(token, info, also)


def _show_once(token: str, issued: TokenInfo, also: str = "") -> None:
    typer.echo(token)
    typer.echo(
        f"token for {issued.name} ({issued.role}), valid until "
        f"{issued.expires_at:%Y-%m-%d %H:%M} UTC{also}: keep it now, it cannot be shown again",
        err=True,
    )


@app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Who the user is; recorded as the actor.")
    ],
    role: Annotated[Role, typer.Option("--role", help=_ROLE_HELP)],
    expires_in: ExpiresIn = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Add a user and print their first token; it is shown this once and stored only as a hash.

    A name is unique regardless of case; `users token NAME` gives an existing user another token.
    """
    _issue(site, data_dir, lambda store: issue_token(store, name, role, lifetime=expires_in))


@app.command("token")
def another_token(
    name: Name,
    expires_in: ExpiresIn = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Issue another token for an existing user, with their role; it is shown this once."""
    _issue(site, data_dir, lambda store: issue_user_token(store, name, lifetime=expires_in))


@app.command("rotate")
def rotate(
    name: Name,
    expires_in: ExpiresIn = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Issue a user a new token and revoke all their others; the new one is shown this once."""
    _issue(
        site,
        data_dir,
        lambda store: rotate_user_token(store, name, lifetime=expires_in),
        also="; their other tokens are revoked",
    )


@app.command("role")
def change_role(
    name: Name,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help=_ROLE_HELP)],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Change a user's role, for every token they hold."""
    with _refused(), opened_site(site, data_dir) as opened:
        principal = set_user_role(opened.store, name, new_role)
    typer.echo(f"{principal.name} is now {principal.role}")


@app.command("list")
def list_users(data_dir: DataDir = DEFAULT_DATA_DIR, site: SiteFile = DEFAULT_SITE) -> None:
    """List the tokens issued, one a line, with their user, role, expiry and revocation."""
    with opened_site(site, data_dir) as opened:
        rows = list_tokens(opened.store)
    columns = {
        "token_id": "id",
        "name": "user",
        "role": "role",
        "created_at": "created",
        "expires_at": "expires",
        "revoked_at": "revoked",
    }
    print_rows(rows, columns, "API tokens")


@app.command("revoke")
def revoke(
    token_id: Annotated[
        str, typer.Argument(metavar="TOKEN_ID", help="The token's id, as shown by `users list`.")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Revoke a token: it authenticates no further request. The user's other tokens remain."""
    with _refused(), opened_site(site, data_dir) as opened:
        revoke_token(opened.store, token_id)
    typer.echo(f"token {token_id} revoked")


@app.command("whoami")
def whoami(
    token_file: TokenFile = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """The user and role of the token in $VALUELOOP_TOKEN (or --token-file), as commands see it."""
    with opened_site(site, data_dir) as opened:
        principal = cli_principal(opened.store, token_file)
    typer.echo(f"{principal.name} ({principal.role})")
