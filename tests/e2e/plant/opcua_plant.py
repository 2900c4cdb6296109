"""Three pump skids behind a real asyncua OPC UA server, run as its own process by the tests.

``python tests/e2e/plant/opcua_plant.py --port P [--epoch ISO] [--seed N] [--rate-hz H]
[--fault-machine machine-2 --fault-at S --fault-for S]`` serves
``opc.tcp://127.0.0.1:P/valueloop/plant``, namespace ``urn:valueloop:plant`` (index 2), with an
object per machine (``ns=2;s=machine-1``) holding Double variables ``ns=2;s=machine-1.<name>``:

- ``vibration`` (mm/s, about 2.0), ``bearing_temperature`` (degC, about 55), ``power`` (kW, about
  40, following the plant's load profile and the cube of the speed), ``speed`` (rpm, following the
  set-point with a time constant of :data:`SPEED_TAU_S`);
- ``speed_setpoint`` (rpm, writable, starts at 1480).

Values change every ``1 / rate_hz`` s (ticks on a grid from the epoch), each stamped with its tick's
instant as source timestamp. Noise, and each machine's levels, come from the seed (see
``plant_model.py``). The fault of ``--fault-machine`` (none by default) covers the ticks in
``[epoch + fault_at, epoch + fault_at + fault_for)``: vibration times 4, bearing temperature rising
towards +8 degC. The process prints ``READY`` once it listens, ``FAULT_START <iso>`` when it
serves the fault's first tick and ``FAULT_END <iso>`` when it serves the first tick after it (the
instant of those ticks, the same in a process restarted with the same ``--epoch``; a process
started after the fault prints neither). Killed and started again with the same epoch, it carries
on with the same timeline (the set-points start again at 1480).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from asyncua import Node, Server, ua
from plant_model import (
    FAULT_VIBRATION_FACTOR,
    MACHINES,
    NAMESPACE,
    NOMINAL_SPEED_RPM,
    SIGNAL_UNITS,
    SPEED_SETPOINT,
    Fault,
    Machine,
    day,
    iso,
    load,
    machine_power,
    machines,
    noise,
    opcua_endpoint,
    parse_epoch,
)

SPEED_TAU_S = 2.0
NOISE = {"vibration": 0.06, "bearing_temperature": 0.1, "power": 0.3, "speed": 1.5}
"""Standard deviation of each signal's noise, in its unit."""


@dataclass
class Skid:
    """One machine's nodes and the state the simulation keeps: its speed."""

    name: str
    levels: Machine
    variables: dict[str, Node]
    setpoint: Node
    speed: float = NOMINAL_SPEED_RPM


def values(skid: Skid, t: float, draws: list[float], fault: Fault | None) -> dict[str, float]:
    """The skid's signals at ``t`` s, with one noise draw per signal."""
    levels, share = skid.levels, load(t) - 0.5
    faulty = fault is not None and fault.machine == skid.name
    vibration = levels.vibration * (1 + 0.1 * share) * (1 + 0.03 * day(t, levels.phase))
    vibration += NOISE["vibration"] * draws[0]
    temperature = levels.bearing_temperature + 2.0 * share + 0.4 * day(t, levels.phase)
    temperature += NOISE["bearing_temperature"] * draws[1]
    if faulty and fault is not None:
        vibration *= FAULT_VIBRATION_FACTOR if fault.active(t) else 1.0
        temperature += fault.temperature_rise(t)
    return {
        "vibration": vibration,
        "bearing_temperature": temperature,
        "power": machine_power(levels, t, skid.speed) + NOISE["power"] * draws[2],
        "speed": skid.speed + NOISE["speed"] * draws[3],
    }


async def _units(variable: Node, path: str, unit: str, index: int) -> None:
    """The variable's EngineeringUnits property, as OPC UA part 8 describes it."""
    await variable.add_property(
        ua.NodeId(f"{path}.EngineeringUnits", index),
        ua.QualifiedName("EngineeringUnits", 0),
        ua.EUInformation(
            NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
            DisplayName=ua.LocalizedText(unit),
            Description=ua.LocalizedText(unit),
        ),
        datatype=ua.NodeId(ua.ObjectIds.EUInformation),
    )


async def _double(parent: Node, path: str, name: str, start: float, index: int) -> Node:
    return await parent.add_variable(
        ua.NodeId(path, index),
        ua.QualifiedName(name, index),
        start,
        varianttype=ua.VariantType.Double,
    )


async def build(server: Server, seed: int) -> list[Skid]:
    """Add the machines' objects and variables to ``server``."""
    index = await server.register_namespace(NAMESPACE)
    skids = []
    for name, levels in machines(seed).items():
        machine = await server.nodes.objects.add_object(
            ua.NodeId(name, index), ua.QualifiedName(name, index)
        )
        variables = {}
        for signal, unit in SIGNAL_UNITS.items():
            path = f"{name}.{signal}"
            variables[signal] = await _double(machine, path, signal, 0.0, index)
            await _units(variables[signal], path, unit, index)
        path = f"{name}.{SPEED_SETPOINT}"
        setpoint = await _double(machine, path, SPEED_SETPOINT, NOMINAL_SPEED_RPM, index)
        await _units(setpoint, path, "rpm", index)
        await setpoint.set_writable()
        skids.append(Skid(name, levels, variables, setpoint))
    return skids


class Announcer:
    """Prints the fault's start and end once each, when the process serves them."""

    def __init__(self, epoch: float, fault: Fault | None, rate_hz: float) -> None:
        self.epoch, self.fault, self.rate_hz = epoch, fault, rate_hz
        self.started = self.ended = False

    def tick(self, t: float) -> None:
        """Announce what tick ``t`` (s since the epoch) begins."""
        if self.fault is None:
            return
        if not self.started and self.fault.active(t):
            self.started = True
            start = self.epoch + self.fault.first_tick(self.fault.at, self.rate_hz)
            print(f"FAULT_START {iso(start)}", flush=True)
        if self.started and not self.ended and t >= self.fault.end:
            self.ended = True
            end = self.epoch + self.fault.first_tick(self.fault.end, self.rate_hz)
            print(f"FAULT_END {iso(end)}", flush=True)


async def simulate(
    skids: list[Skid], epoch: float, seed: int, rate_hz: float, fault: Fault | None
) -> None:
    """Write every machine's values on each tick of the grid, forever."""
    step = 1.0 / rate_hz
    announcer = Announcer(epoch, fault, rate_hz)
    tick = max(0, math.ceil((time.time() - epoch) * rate_hz))
    follow = 1 - math.exp(-step / SPEED_TAU_S)
    while True:
        due = epoch + tick * step
        late = time.time() - due
        if late > step:  # the process was held up: skip the ticks it missed
            tick = math.ceil((time.time() - epoch) * rate_hz)
            continue
        if late < 0:
            await asyncio.sleep(-late)
        await write_tick(skids, tick, epoch, seed, rate_hz, fault, follow)
        announcer.tick(tick * step)
        tick += 1


async def write_tick(
    skids: list[Skid],
    tick: int,
    epoch: float,
    seed: int,
    rate_hz: float,
    fault: Fault | None,
    follow: float,
) -> None:
    """Write every machine's values of grid tick ``tick``, stamped with its instant."""
    step = 1.0 / rate_hz
    stamp = datetime.fromtimestamp(epoch + tick * step, UTC)
    for number, skid in enumerate(skids):
        skid.speed += (float(await skid.setpoint.read_value()) - skid.speed) * follow
        draws = noise(seed, number + 1, tick, len(SIGNAL_UNITS)).tolist()
        for signal, value in values(skid, tick * step, draws, fault).items():
            await skid.variables[signal].write_value(
                ua.DataValue(
                    Value=ua.Variant(value, ua.VariantType.Double),
                    SourceTimestamp=stamp,
                    ServerTimestamp=datetime.now(UTC),
                )
            )


async def serve(arguments: argparse.Namespace) -> None:
    """Serve the machines until killed."""
    epoch = parse_epoch(arguments.epoch)
    fault = None
    if arguments.fault_machine:
        if arguments.fault_machine not in MACHINES:
            raise SystemExit(f"--fault-machine must be one of {', '.join(MACHINES)}")
        fault = Fault(arguments.fault_machine, arguments.fault_at, arguments.fault_for)
    server = Server()
    await server.init()
    server.set_server_name("valueloop acceptance plant")
    server.set_endpoint(opcua_endpoint(arguments.port, arguments.host))
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    skids = await build(server, arguments.seed)
    # The variables hold the current tick's values before any client can read them.
    first = max(0, math.floor((time.time() - epoch) * arguments.rate_hz))
    await write_tick(skids, first, epoch, arguments.seed, arguments.rate_hz, fault, 0.0)
    async with server:
        print("READY", flush=True)
        await simulate(skids, epoch, arguments.seed, arguments.rate_hz, fault)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--epoch", help="the plant's time 0, ISO 8601 (default: now)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate-hz", type=float, default=2.0, help="value updates per second")
    parser.add_argument("--fault-machine", default="", help="machine with a bearing fault")
    parser.add_argument("--fault-at", type=float, default=60.0, help="s after the epoch")
    parser.add_argument("--fault-for", type=float, default=30.0, help="s")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
