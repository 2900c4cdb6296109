"""The plant's main energy meter behind a real pymodbus server, run as its own process by the tests.

``python tests/e2e/plant/modbus_meter.py --port P [--host H] [--epoch ISO] [--seed N]`` serves
device id :data:`UNIT_ID` with the holding registers of :data:`REGISTERS` (32-bit values low word
first, CDAB, as many meters send them):

- 0-1 ``power``: float32, kW, the three machines' power at nominal speed (about 120) plus noise;
- 2-3 ``energy``: uint32 in 0.1 kWh, the integral of that power, going up every second;
- 4 ``voltage``: int16 in 0.1 V, about 400 V.

The values are those of the current whole second since the plant's epoch (the same epoch and seed
as the OPC UA machines, so that the meter follows their load profile; it does not see their
set-points). The process prints ``READY`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import struct
import time
from dataclasses import dataclass

from plant_model import RATED_POWER_KW, day, machine_power, machines, noise, parse_epoch
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

UNIT_ID = 1
ENERGY_START_KWH = 182_400.0
"""The register's reading at the epoch, kWh."""


@dataclass(frozen=True)
class Register:
    """A value of the meter: first holding register, type, and raw units per engineering unit."""

    name: str
    address: int
    data_type: str
    per_unit: float


REGISTERS = (
    Register("power", 0, "float32", 1.0),
    Register("energy", 2, "uint32", 10.0),
    Register("voltage", 4, "int16", 10.0),
)
_FORMATS = {"int16": ">h", "uint32": ">I", "float32": ">f"}


def encode(register: Register, value: float) -> list[int]:
    """The registers holding ``value`` (in engineering units), low word first."""
    raw = value * register.per_unit
    data = struct.pack(
        _FORMATS[register.data_type], raw if "float" in register.data_type else round(raw)
    )
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words[::-1]


class Meter:
    """The meter's readings, second by second on the plant's timeline."""

    def __init__(self, epoch: float, seed: int) -> None:
        self.epoch, self.seed = epoch, seed
        self.machines = list(machines(seed).values())
        self.second = max(0, math.floor(time.time() - epoch))
        mean_kw = RATED_POWER_KW * len(self.machines)
        self.energy_kwh = ENERGY_START_KWH + mean_kw * self.second / 3600
        self.values = self._at(self.second)

    def _at(self, second: int) -> dict[str, float]:
        draws = noise(self.seed, 10, second, 2)
        power = sum(machine_power(machine, second) for machine in self.machines)
        return {
            "power": power + 0.5 * float(draws[0]),
            "energy": self.energy_kwh,
            "voltage": 400.0 + 2.0 * day(second) + 0.5 * float(draws[1]),
        }

    def now(self) -> dict[str, float]:
        """The readings of the current second; energy adds each past second's power."""
        current = math.floor(time.time() - self.epoch)
        while self.second < current:
            self.energy_kwh += self.values["power"] / 3600
            self.second += 1
            self.values = self._at(self.second)
        return self.values


def device(meter: Meter) -> SimDevice:
    """The simulated meter: its registers are refreshed on every holding-register read."""

    async def refresh(
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        if function_code == 3:
            values = meter.now()
            for register in REGISTERS:
                words = encode(register, values[register.name])
                at = register.address - start_address
                registers[at : at + len(words)] = words

    size = max(r.address + (1 if r.data_type == "int16" else 2) for r in REGISTERS)
    holding = [SimData(0, values=[0] * size, datatype=DataType.REGISTERS)]
    bits = [SimData(0, values=[False], datatype=DataType.BITS)]
    inputs = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
    return SimDevice(id=UNIT_ID, simdata=(bits, list(bits), holding, inputs), action=refresh)


async def serve(arguments: argparse.Namespace) -> None:
    """Serve the meter until killed."""
    meter = Meter(parse_epoch(arguments.epoch), arguments.seed)
    server = ModbusTcpServer(device(meter), address=(arguments.host, arguments.port))
    await server.serve_forever(background=True)
    print("READY", flush=True)
    await server.serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--epoch", help="the plant's time 0, ISO 8601 (default: now)")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
