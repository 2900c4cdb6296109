"""Who runs a command: the user of the API token in ``VALUELOOP_TOKEN`` or in a token file.

Commands that act for a person (deciding a work order, say) take the person from their token, as
the API does, rather than from a name typed on the command line. The token is read from
``--token-file PATH`` when given (the file must be readable by its owner only, mode 0600), else
from the environment variable ``VALUELOOP_TOKEN``, and authenticated against the opened site's
store. Without a valid token the command stops: it prints why and how to get a token, and exits
with code 2.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from valueloop.api.auth import Principal, authenticate
from valueloop.errors import AuthError
from valueloop.store.duckdb import DuckDBStore

TOKEN_ENV = "VALUELOOP_TOKEN"

TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help=f"A file holding your API token, mode 0600 (default: ${TOKEN_ENV}).",
        dir_okay=False,
    ),
]
"""The ``--token-file`` option of the commands that act for a person."""

_HOW = (
    f"set {TOKEN_ENV} to your API token; an admin issues one with "
    "`valueloop users add NAME --role ROLE` (or `valueloop users token NAME` for another one)"
)


def _stop(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _read_token_file(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        token = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        _stop(f"cannot read token file {path}: {err.strerror}")
    if mode & 0o077:
        _stop(f"token file {path} may be read by others (mode {mode:04o}); run `chmod 600 {path}`")
    return token


def cli_principal(store: DuckDBStore, token_file: Path | None = None) -> Principal:
    """The user whose token is in ``token_file`` or, without it, in ``VALUELOOP_TOKEN``.

    Without a token, or with one unknown or revoked in ``store``, prints why (naming
    ``VALUELOOP_TOKEN`` and ``valueloop users add``) and raises ``typer.Exit(2)``.
    """
    if token_file is not None:
        token, source = _read_token_file(token_file), f"token file {token_file}"
    else:
        token, source = os.environ.get(TOKEN_ENV, "").strip(), TOKEN_ENV
    if not token:
        _stop(f"no API token in {source}: {_HOW}")
    try:
        return authenticate(store, token)
    except AuthError as err:
        _stop(f"the token in {source} is refused ({err}): {_HOW}")
