"""The TCP link to a Modbus device: the one place the source and the sink make pymodbus clients.

A client sends each request once (no retries of its own, so a write is never repeated behind the
caller's back) and does not reconnect by itself: the source reconnects with backoff, the sink opens
a client per call. :data:`LINK_ERRORS` is what pymodbus raises when the device is gone or silent.
"""

from __future__ import annotations

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from valueloop.connectors.modbus.spec import ModbusSpec

LINK_ERRORS = (ModbusException, OSError, TimeoutError, ConnectionError)
"""What pymodbus raises when the device is unreachable, drops the link or does not answer."""

_EXCEPTION_NAMES = {code.value: code.name for code in ExcCodes}


def tcp_client(spec: ModbusSpec) -> AsyncModbusTcpClient:
    """A client (not yet connected) for the device of ``spec``."""
    return AsyncModbusTcpClient(
        spec.host, port=spec.port, timeout=spec.timeout_s, retries=0, reconnect_delay=0
    )


def exception_response(answer: ModbusPDU) -> str:
    """The device's exception response, named: ``exception response 2 (ILLEGAL_ADDRESS)``."""
    code = answer.exception_code
    return f"exception response {code} ({_EXCEPTION_NAMES.get(code, 'unknown code')})"
