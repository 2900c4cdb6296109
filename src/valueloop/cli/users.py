"""``valueloop users``: issue, list and revoke the API tokens of people and systems."""

from __future__ import annotations

from typing import Annotated

import typer

from valueloop.api.auth import Role, issue_token, list_tokens, revoke_token
from valueloop.cli.sitecmd import (
    DEFAULT_DATA_DIR,
    DEFAULT_SITE,
    DataDir,
    SiteFile,
    opened_site,
    print_rows,
)

app = typer.Typer(help="API users and their tokens.", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Who the token is for; recorded as the actor.")],
    role: Annotated[Role, typer.Option("--role", help="viewer, operator, admin or ingest.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Issue a token and print it; it is shown this once and stored only as a hash."""
    with opened_site(site, data_dir) as opened:
        token = issue_token(opened.store, name, role)
    typer.echo(token)
    typer.echo(f"token for {name} ({role}): keep it now, it cannot be shown again", err=True)


@app.command("list")
def list_users(data_dir: DataDir = DEFAULT_DATA_DIR, site: SiteFile = DEFAULT_SITE) -> None:
    """List the tokens issued, with their role and whether they are revoked."""
    with opened_site(site, data_dir) as opened:
        rows = list_tokens(opened.store)
    columns = {
        "token_id": "id",
        "name": "name",
        "role": "role",
        "created_at": "created",
        "revoked_at": "revoked",
    }
    print_rows(rows, columns, "API tokens")


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id, as shown by `users list`.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Revoke a token: it authenticates no further request."""
    with opened_site(site, data_dir) as opened:
        revoke_token(opened.store, token_id)
    typer.echo(f"token {token_id} revoked")
