"""Browsing an OPC UA server's address space to import its variables into the asset model.

:func:`browse` walks the hierarchy under a node (the Objects folder by default) and returns one row
per object and variable: NodeId, browse path, display name, node class, data type, whether the
current value is writable, and the engineering unit when the server gives an EUInformation.
:func:`points_from_browse` turns those rows into the ``points`` and ``setpoints`` of a connector
entry of site.yaml, for the operator to review and paste.
"""

from __future__ import annotations

import re
from typing import get_args

import pyarrow as pa
import yaml
from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.object_ids import ObjectIdNames

from valueloop.connectors.opcua.session import UA_ERRORS, close_client, describe, open_client
from valueloop.connectors.opcua.spec import DataTypeName
from valueloop.errors import ConnectorError

BROWSE_SCHEMA = pa.schema(
    [
        pa.field("node_id", pa.string(), nullable=False),
        pa.field("browse_path", pa.string(), nullable=False),
        pa.field("display_name", pa.string(), nullable=False),
        pa.field("node_class", pa.string(), nullable=False),
        pa.field("data_type", pa.string()),
        pa.field("writable", pa.bool_()),
        pa.field("unit", pa.string()),
    ]
)
"""One row per browsed node; data type, writable and unit are null for objects."""

NUMERIC_TYPES = frozenset(get_args(DataTypeName))
"""Data types :func:`points_from_browse` maps to series (the numeric built-ins and Boolean)."""


async def _data_type_name(client: Client, node: Node) -> str:
    type_id = await node.read_data_type()
    identifier = type_id.Identifier
    if type_id.NamespaceIndex == 0 and isinstance(identifier, int) and identifier in ObjectIdNames:
        return ObjectIdNames[identifier]
    return str((await client.get_node(type_id).read_browse_name()).Name)


async def _unit(node: Node) -> str | None:
    try:
        units = await (await node.get_child("0:EngineeringUnits")).read_value()
    except UA_ERRORS:
        return None
    return str(units.DisplayName.Text) if isinstance(units, ua.EUInformation) else None


async def _variable_row(client: Client, node: Node) -> dict[str, object]:
    access = await node.get_user_access_level()
    return {
        "data_type": await _data_type_name(client, node),
        "writable": ua.AccessLevel.CurrentWrite in access,
        "unit": await _unit(node),
    }


async def _row(client: Client, node: Node, parent_path: str) -> dict[str, object]:
    """The browse row of one object or variable under ``parent_path``."""
    node_class = await node.read_node_class()
    row: dict[str, object] = {
        "node_id": node.nodeid.to_string(),
        "browse_path": f"{parent_path}/{(await node.read_browse_name()).to_string()}",
        "display_name": (await node.read_display_name()).Text,
        "node_class": node_class.name,
        "data_type": None,
        "writable": None,
        "unit": None,
    }
    if node_class == ua.NodeClass.Variable:
        row.update(await _variable_row(client, node))
    return row


async def _walk(client: Client, root: Node, path: str, depth: int) -> list[dict[str, object]]:
    """Rows of the objects and variables below ``root``, ``depth`` levels deep (ns 0 skipped)."""
    rows: list[dict[str, object]] = []
    frontier = [(root, path)]
    for _ in range(depth):
        following: list[tuple[Node, str]] = []
        for parent, parent_path in frontier:
            for child in await parent.get_children():
                if child.nodeid.NamespaceIndex == 0:
                    continue
                row = await _row(client, child, parent_path)
                rows.append(row)
                if row["node_class"] == "Object":
                    following.append((child, str(row["browse_path"])))
        frontier = following
    return rows


async def browse(
    endpoint: str,
    root: str | None = None,
    depth: int = 4,
    *,
    security: str | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 4.0,
) -> pa.Table:
    """The objects and variables under ``root`` (a NodeId; the Objects folder when None).

    ``depth`` bounds how many levels of objects are descended. Standard nodes (namespace 0, such as
    the Server object) are left out. Returns a table of :data:`BROWSE_SCHEMA`.
    """
    client = await open_client(
        endpoint, timeout_s=timeout_s, security=security, username=username, password=password
    )
    try:
        start = client.nodes.objects if root is None else client.get_node(root)
        start_path = "/" + "/".join((await start.get_path(as_string=True))[1:])
        rows = await _walk(client, start, start_path, depth)
    except UA_ERRORS as err:
        raise ConnectorError(f"browsing {root or 'Objects'} failed: {describe(err)}") from err
    finally:
        await close_client(client, timeout_s)
    return pa.Table.from_pylist(rows, schema=BROWSE_SCHEMA)


def _name(text: str) -> str:
    """``text`` as a name of the asset model: letters, digits and ``_``, lower case."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text.split(":", 1)[-1])
    return re.sub(r"[^A-Za-z0-9_]+", "_", snake).strip("_").lower() or "node"


def points_from_browse(table: pa.Table, *, asset: str | None = None) -> str:
    """A YAML snippet of ``points`` and ``setpoints`` for the numeric variables of ``table``.

    Each variable becomes ``asset/signal``: the asset is ``asset`` when given, else the name of the
    object holding the variable; the signal is the variable's display name, in snake case. Nodes
    are named by their browse path (``/0:Objects/2:Pump1/2:Pressure``), which says what they are
    and, unlike a numeric NodeId a server may hand out anew, stays put. Writable variables are
    also listed as set-points with their data type.
    """
    points: list[dict[str, object]] = []
    setpoints: list[dict[str, object]] = []
    for row in table.to_pylist():
        if row["node_class"] != "Variable" or row["data_type"] not in NUMERIC_TYPES:
            continue
        owner = row["browse_path"].rsplit("/", 2)[-2]
        series = f"{asset or _name(owner)}/{_name(row['display_name'])}"
        point: dict[str, object] = {"node": row["browse_path"], "series": series}
        if row["unit"]:
            point["unit"] = row["unit"]
        points.append(point)
        if row["writable"]:
            setpoints.append({**point, "data_type": row["data_type"]})
    return yaml.safe_dump({"points": points, "setpoints": setpoints}, sort_keys=False)
