"""``valueloop connect``: look into a field server before mapping it, and see connector health."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import httpx
import pyarrow as pa
import typer
from rich.console import Console

from valueloop.cli.sitecmd import print_rows
from valueloop.errors import ConnectorError

app = typer.Typer(help="Field servers and connector health.", no_args_is_help=True)
console = Console()


@app.command("browse")
def browse(
    endpoint: Annotated[str, typer.Argument(help="The OPC UA server, opc.tcp://host:port.")],
    root: Annotated[str | None, typer.Option(help="Node id to start from (Objects).")] = None,
    depth: Annotated[int, typer.Option(help="Levels of objects to descend.")] = 4,
    asset: Annotated[
        str | None, typer.Option(help="Asset name for every variable in the mapping.")
    ] = None,
    username: Annotated[str | None, typer.Option(help="User name, if the server asks.")] = None,
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the password.")
    ] = "VALUELOOP_OPCUA_PASSWORD",
) -> None:
    """List an OPC UA server's variables (type, writable, unit) and print a mapping to paste
    into the connector's ``points`` and ``setpoints``."""
    import logging

    from valueloop.connectors.opcua.browse import browse as browse_server
    from valueloop.connectors.opcua.browse import points_from_browse

    # asyncua logs what it negotiates (a revised session timeout, a closed channel) as warnings;
    # what matters reaches the user as this command's output or its error
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    table = asyncio.run(
        browse_server(
            endpoint, root, depth, username=username, password=os.environ.get(password_env)
        )
    )
    print_rows(
        table,
        {
            "browse_path": "browse path",
            "node_id": "node id",
            "node_class": "class",
            "data_type": "type",
            "writable": "writable",
            "unit": "unit",
        },
        f"{endpoint}: {table.num_rows} nodes",
    )
    typer.echo(points_from_browse(table, asset=asset))


@app.command("status")
def status(
    url: Annotated[str, typer.Option(help="The valueloop server.")] = "http://127.0.0.1:8000",
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding a viewer token.")
    ] = "VALUELOOP_TOKEN",
) -> None:
    """Per connector of a running server: connected or not, last message, rate, errors and the
    last error."""
    token = os.environ.get(token_env)
    if not token:
        raise ConnectorError(f"set {token_env} to an API token (valueloop users add NAME)")
    try:
        answer = httpx.get(
            f"{url.rstrip('/')}/api/connectors",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as err:
        raise ConnectorError(f"cannot reach {url}: {err}") from err
    if answer.status_code != 200:
        raise ConnectorError(f"{url} answered {answer.status_code}: {answer.text[:200]}")
    rows = answer.json()
    columns = [
        "name",
        "kind",
        "connected",
        "last_message_at",
        "rate",
        "points",
        "errors",
        "last_error",
    ]
    table = pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in columns})
    print_rows(
        table,
        {
            "name": "connector",
            "kind": "kind",
            "connected": "connected",
            "last_message_at": "last message",
            "rate": "readings/s",
            "points": "readings",
            "errors": "errors",
            "last_error": "last error",
        },
        f"connectors of {url}",
    )
