"""A Modbus TCP device simulated by a real pymodbus server, run as its own process by the tests.

``python tests/connectors/modbus_device.py --port N`` serves device id :data:`UNIT_ID` with the
registers of :data:`KNOWN` (every data type, in every byte and word order, encoded here with
:mod:`struct`), and an input register at :data:`COUNTER_ADDRESS` that goes up by one on every
input-register read. Addresses not listed answer with an exception response (illegal address).
"""

from __future__ import annotations

import argparse
import asyncio
import struct
from dataclasses import dataclass

from pymodbus.server import StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

UNIT_ID = 1
COUNTER_ADDRESS = 20
FAR_ADDRESS = 60


@dataclass(frozen=True)
class Known:
    """A value the device holds: where, as what type, and in which byte and word order."""

    name: str
    table: str
    address: int
    data_type: str
    value: float
    byte_order: str = "big"
    word_order: str = "big"


KNOWN = (
    Known("hr_int16", "holding", 0, "int16", -1234),
    Known("hr_uint16", "holding", 1, "uint16", 54321),
    Known("hr_int32", "holding", 2, "int32", -123456789),
    Known("hr_uint32_cdab", "holding", 4, "uint32", 3000000000, "big", "little"),
    Known("hr_float32_badc", "holding", 6, "float32", 3.14159, "little", "big"),
    Known("hr_float32_dcba", "holding", 8, "float32", -273.15, "little", "little"),
    Known("hr_int16_swapped", "holding", 10, "int16", -2, "little", "big"),
    Known("hr_far", "holding", FAR_ADDRESS, "uint16", 99),
    Known("ir_float32", "input", 0, "float32", 101.325),
    Known("ir_uint16", "input", 2, "uint16", 7),
    Known("ir_int32_cdab", "input", 3, "int32", -42, "big", "little"),
)
"""The device's fixed values."""

_FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}


def encode(known: Known) -> list[int]:
    """The registers holding ``known`` in its byte and word order."""
    data = struct.pack(
        _FORMATS[known.data_type], int(known.value) if "int" in known.data_type else known.value
    )
    words = [data[i : i + 2] for i in range(0, len(data), 2)]
    if known.word_order == "little":
        words.reverse()
    if known.byte_order == "little":
        words = [word[::-1] for word in words]
    return [int.from_bytes(word, "big") for word in words]


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
            SimData(known.address, values=encode(known), datatype=DataType.REGISTERS)
        )
    tables["input"].append(SimData(COUNTER_ADDRESS, values=[0], datatype=DataType.REGISTERS))
    bits = [SimData(0, values=[False], datatype=DataType.BITS)]
    return SimDevice(
        id=UNIT_ID,
        simdata=(bits, list(bits), tables["holding"], tables["input"]),
        action=_count_reads,
    )


async def serve(port: int) -> None:
    """Serve the device on ``port`` until killed."""
    await StartAsyncTcpServer(device(), address=("127.0.0.1", port))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))
