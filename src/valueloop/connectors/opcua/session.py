"""Opening an OPC UA session and naming nodes: the one place asyncua errors enter the connector.

The source, the set-point sink and the browser all connect through :func:`open_client` and close
through :func:`close_client`; an unreachable server, a refused login or a bad security string
becomes a :class:`~valueloop.errors.ConnectorError` saying what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UASocketState
from asyncua.common.node import Node
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from valueloop.connectors.opcua.spec import OpcUaSpec
from valueloop.connectors.secrets import resolve_secret
from valueloop.errors import ConnectorError

UA_ERRORS = (UaError, OSError, TimeoutError, ConnectionError)
"""What asyncua raises when the server is gone, slow, or refuses a request."""


def safe_endpoint(endpoint: str) -> str:
    """``endpoint`` without any ``user:password@`` part, fit for logs and error messages."""
    parts = urlsplit(endpoint)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def describe(err: BaseException) -> str:
    """A short text for an asyncua error: the status code name when there is one."""
    if isinstance(err, UaStatusCodeError):
        return f"{ua.StatusCode(err.code).name}: {err}"
    return str(err) or type(err).__name__


async def open_client(
    endpoint: str,
    *,
    timeout_s: float = 4.0,
    watchdog_interval_s: float = 1.0,
    security: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> Client:
    """A connected asyncua client with its session activated.

    asyncua's own supervisor probes the server every ``watchdog_interval_s`` seconds; the caller
    sets ``connection_lost_callback`` to hear of a dead server. Reconnection is left to the caller.
    """
    client = Client(endpoint, timeout=timeout_s, watchdog_intervall=watchdog_interval_s)
    if username is not None:
        client.set_user(username)
    if password is not None:
        client.set_password(password)
    where = safe_endpoint(endpoint)
    try:
        if security is not None:
            await client.set_security_string(security)
        await asyncio.wait_for(client.connect(auto_reconnect=False), timeout_s * 2)
    except (*UA_ERRORS, ValueError) as err:
        await close_client(client, timeout_s)
        raise ConnectorError(
            f"cannot open an OPC UA session with {where}: {describe(err)}; check that the server "
            "runs, the endpoint, the security settings and the login"
        ) from err
    return client


async def open_spec_client(spec: OpcUaSpec) -> Client:
    """A connected client for the server, security and login of ``spec``."""
    return await open_client(
        spec.endpoint,
        timeout_s=spec.timeout_s,
        watchdog_interval_s=spec.watchdog_interval_s,
        security=spec.security,
        username=spec.username,
        password=resolve_secret(spec),
    )


async def close_client(client: Client, timeout_s: float = 4.0) -> None:
    """Close the session and socket, ignoring a server that is already gone.

    A client whose connection never opened, or is closed already, only drops its socket: asyncua
    would log a warning about closing a channel that is not there.
    """
    protocol = client.uaclient.protocol
    if protocol is None or protocol.state is UASocketState.CLOSED:
        client.disconnect_socket()
        return
    with contextlib.suppress(*UA_ERRORS, asyncio.CancelledError):
        await asyncio.wait_for(client.disconnect(), timeout_s)


async def resolve(client: Client, ref: str) -> Node:
    """The node named by ``ref``: a NodeId string, or a browse path from the Root folder.

    A browse path that leads nowhere is a ConnectorError; a NodeId is not checked here (the server
    answers BadNodeIdUnknown when it is used).
    """
    if not ref.startswith("/"):
        return client.get_node(ref)
    try:
        return await client.nodes.root.get_child(ref.strip("/").split("/"))
    except UA_ERRORS as err:
        raise ConnectorError(
            f"browse path {ref} leads to no node: {describe(err)}; browse the server to find it"
        ) from err
