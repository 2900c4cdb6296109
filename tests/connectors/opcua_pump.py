"""A pump simulated by a real asyncua OPC UA server, run as its own process by the tests.

``python tests/connectors/opcua_pump.py --port N`` serves ``opc.tcp://127.0.0.1:N/valueloop/pump``
with an object ``Pump1`` (namespace :data:`NAMESPACE`, index 2) whose variables change every
:data:`TICK_S` seconds:

- ``Pressure`` (Double, bar): ``5 + sin(t)``; ``Flow`` (Double, m3/h): ``100 + 10 sin(t/2)``;
- ``Speed`` (Float, rpm): ``1450 + 20 sin(t/3)``; ``RunSeconds`` (UInt32, s): whole seconds up;
- ``Totalizer`` (Double, m3): up 0.1 each tick and 5 more every :data:`JUMP_EVERY` ticks, so a
  deadband of 1 lets only the jumps through;
- ``Temperature`` (Double, degC): ``60 + t mod 5`` with status UncertainLastUsableValue;
- ``Mode`` (String): ``running``, a value no series can hold;
- ``Setpoint`` (Double, bar, writable, starts at :data:`SETPOINT_START`), ``Trim`` (Double,
  writable, starts at 0) and ``SpeedLimit`` (UInt16, rpm, writable, starts at
  :data:`SPEED_LIMIT_START`), left alone by the simulation.

The process prints ``READY`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from datetime import UTC, datetime

from asyncua import Server, ua

NAMESPACE = "urn:valueloop:test:pump"
TICK_S = 0.05
JUMP_EVERY = 10
SETPOINT_START = 30.0
SPEED_LIMIT_START = 1500
UNITS = {
    "Pressure": "bar",
    "Flow": "m3/h",
    "Speed": "rpm",
    "Setpoint": "bar",
    "SpeedLimit": "rpm",
}
DATA_TYPES = {
    "Pressure": ua.VariantType.Double,
    "Flow": ua.VariantType.Double,
    "Speed": ua.VariantType.Float,
    "RunSeconds": ua.VariantType.UInt32,
    "Totalizer": ua.VariantType.Double,
    "Temperature": ua.VariantType.Double,
    "Setpoint": ua.VariantType.Double,
    "Trim": ua.VariantType.Double,
    "SpeedLimit": ua.VariantType.UInt16,
}
WRITABLE = ("Setpoint", "Trim", "SpeedLimit")
STARTS = {"Setpoint": SETPOINT_START, "SpeedLimit": SPEED_LIMIT_START}


def endpoint(port: int) -> str:
    """The pump's endpoint URL on ``port``."""
    return f"opc.tcp://127.0.0.1:{port}/valueloop/pump"


def node_id(name: str) -> str:
    """The NodeId string of the pump variable ``name``."""
    return f"ns=2;s=Pump1.{name}"


async def _value(node: object, value: float, kind: ua.VariantType, status: int = 0) -> None:
    await node.write_value(  # type: ignore[attr-defined]
        ua.DataValue(
            Value=ua.Variant(value, kind),
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=datetime.now(UTC),
            ServerTimestamp=datetime.now(UTC),
        )
    )


async def serve(port: int) -> None:
    """Serve the pump on ``port`` until killed."""
    server = Server()
    await server.init()
    server.set_endpoint(endpoint(port))
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    index = await server.register_namespace(NAMESPACE)
    pump = await server.nodes.objects.add_object(
        ua.NodeId("Pump1", index), ua.QualifiedName("Pump1", index)
    )
    nodes = {}
    for name, kind in DATA_TYPES.items():
        start = STARTS.get(name, 0)
        node = await pump.add_variable(
            ua.NodeId(f"Pump1.{name}", index),
            ua.QualifiedName(name, index),
            start,
            varianttype=kind,
        )
        if name in UNITS:
            units = ua.EUInformation(
                NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
                DisplayName=ua.LocalizedText(UNITS[name]),
                Description=ua.LocalizedText(UNITS[name]),
            )
            await node.add_property(
                ua.NodeId(f"Pump1.{name}.EngineeringUnits", index),
                ua.QualifiedName("EngineeringUnits", 0),
                units,
                datatype=ua.NodeId(ua.ObjectIds.EUInformation),
            )
        if name in WRITABLE:
            await node.set_writable()
        nodes[name] = node
    await pump.add_variable(
        ua.NodeId("Pump1.Mode", index), ua.QualifiedName("Mode", index), "running"
    )
    async with server:
        print("READY", flush=True)
        began = time.monotonic()
        tick = 0
        totalizer = 0.0
        while True:
            t = time.monotonic() - began
            tick += 1
            totalizer += 0.1 + (5.0 if tick % JUMP_EVERY == 0 else 0.0)
            await _value(nodes["Pressure"], 5 + math.sin(t), DATA_TYPES["Pressure"])
            await _value(nodes["Flow"], 100 + 10 * math.sin(t / 2), DATA_TYPES["Flow"])
            await _value(nodes["Speed"], 1450 + 20 * math.sin(t / 3), DATA_TYPES["Speed"])
            await _value(nodes["RunSeconds"], int(t), DATA_TYPES["RunSeconds"])
            await _value(nodes["Totalizer"], totalizer, DATA_TYPES["Totalizer"])
            await _value(
                nodes["Temperature"],
                60 + t % 5,
                DATA_TYPES["Temperature"],
                ua.StatusCodes.UncertainLastUsableValue,
            )
            await asyncio.sleep(TICK_S)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))
