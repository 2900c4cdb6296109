"""A Modbus TCP device simulated by a real pymodbus server, run as its own process by the tests.

``python tests/connectors/modbus_device.py --port N`` serves device id :data:`UNIT_ID` with:

- the read-only registers of :data:`KNOWN` (every data type, in every byte order);
- an input register at :data:`COUNTER_ADDRESS` that goes up by one on every input-register read;
- the writable holding registers of :data:`SETPOINTS` (every data type in every byte order,
  from :data:`SETPOINT_ADDRESS`, all 0 at start) and 16 writable coils from 0.

Addresses not listed, and writes to read-only registers, answer with an exception response
(illegal address). With ``--write-log PATH`` every write request received (functions 5, 6, 15
and 16), accepted or not, is appended to PATH as one JSON line:
``{"function": 16, "address": 100, "values": [17562, 20480]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import get_args

from pymodbus.pdu import ModbusPDU
from pymodbus.server import StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from valueloop.connectors.modbus.registers import encode
from valueloop.connectors.modbus.spec import REGISTER_WIDTH, ByteOrder, RegisterType

UNIT_ID = 1
COUNTER_ADDRESS = 20
FAR_ADDRESS = 60
SETPOINT_ADDRESS = 100
COILS = 16
WRITE_FUNCTIONS = (5, 6, 15, 16)


@dataclass(frozen=True)
class Known:
    """A value the device holds: where, as what type, and in which byte order."""

    name: str
    table: str
    address: int
    data_type: RegisterType
    value: float
    order: ByteOrder = "ABCD"


KNOWN = (
    Known("hr_int16", "holding", 0, "int16", -1234),
    Known("hr_uint16", "holding", 1, "uint16", 54321),
    Known("hr_int32", "holding", 2, "int32", -123456789),
    Known("hr_uint32_cdab", "holding", 4, "uint32", 3000000000, "CDAB"),
    Known("hr_float32_badc", "holding", 6, "float32", 3.14159, "BADC"),
    Known("hr_float32_dcba", "holding", 8, "float32", -273.15, "DCBA"),
    Known("hr_int16_swapped", "holding", 10, "int16", -2, "BADC"),
    Known("hr_far", "holding", FAR_ADDRESS, "uint16", 99),
    Known("ir_float32", "input", 0, "float32", 101.325),
    Known("ir_uint16", "input", 2, "uint16", 7),
    Known("ir_int32_cdab", "input", 3, "int32", -42, "CDAB"),
)
"""The device's fixed values (read-only)."""


def _setpoints() -> tuple[Known, ...]:
    """A writable value of every type in every byte order, one after the other."""
    setpoints: list[Known] = []
    address = SETPOINT_ADDRESS
    for data_type, order in itertools.product(get_args(RegisterType), get_args(ByteOrder)):
        name = f"sp_{data_type}_{order}"
        setpoints.append(Known(name, "holding", address, data_type, 0, order))
        address += REGISTER_WIDTH[data_type]
    return tuple(setpoints)


SETPOINTS = _setpoints()
"""The device's writable holding registers, all 0 at start."""


def registers(known: Known) -> list[int]:
    """The registers holding ``known`` in its byte order."""
    return encode(known.value, known.data_type, known.order)


async def _count_reads(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> None:
    """Advance the counter register on every input-register read."""
    if function_code == 4:
        at = COUNTER_ADDRESS - start_address
        registers[at] = (registers[at] + 1) & 0xFFFF


def device() -> SimDevice:
    """The simulated device."""
    tables: dict[str, list[SimData]] = {"holding": [], "input": []}
    for known in KNOWN:
        tables[known.table].append(
            SimData(
                known.address,
                values=registers(known),
                datatype=DataType.REGISTERS,
                readonly=known.table == "holding",
            )
        )
    for setpoint in SETPOINTS:
        tables["holding"].append(
            SimData(setpoint.address, values=registers(setpoint), datatype=DataType.REGISTERS)
        )
    tables["input"].append(SimData(COUNTER_ADDRESS, values=[0], datatype=DataType.REGISTERS))
    coils = [SimData(0, values=[False] * COILS, datatype=DataType.BITS)]
    inputs = [SimData(0, values=[False], datatype=DataType.BITS)]
    return SimDevice(
        id=UNIT_ID,
        simdata=(coils, inputs, tables["holding"], tables["input"]),
        action=_count_reads,
    )


def log_writes(path: Path, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
    """Append a write request received to ``path``, before the device acts on it."""
    if not sending and pdu.function_code in WRITE_FUNCTIONS:
        values = pdu.registers if pdu.function_code in (6, 16) else [int(bit) for bit in pdu.bits]
        line = {"function": pdu.function_code, "address": pdu.address, "values": values}
        with path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
    return pdu


def written(path: Path) -> list[dict[str, int | list[int]]]:
    """The write requests logged in ``path`` so far, oldest first."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def serve(port: int, write_log: Path | None) -> None:
    """Serve the device on ``port`` until killed."""
    trace = None if write_log is None else partial(log_writes, write_log)
    await StartAsyncTcpServer(device(), address=("127.0.0.1", port), trace_pdu=trace)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--write-log", type=Path, help="append every write request to this file")
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.port, arguments.write_log))
