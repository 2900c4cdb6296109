"""What the acceptance plant's devices measure, as pure functions of the plant's time.

The device processes (``opcua_plant.py``, ``modbus_meter.py``, ``mqtt_device.py``,
``sparkplug_device.py``) share one timeline: ``t`` is seconds since the plant's epoch (the
``--epoch`` argument, the same for every device of a plant, so that a restarted device carries on
where it was). Values follow a shared load profile (the pumps' duty, repeating every
:data:`LOAD_PERIOD_S`) and a slow "day" (period :data:`DAY_S`, a compressed day so that a test sees
some of it), plus noise drawn from ``numpy.random.default_rng([seed, stream, tick])``: the same
seed gives the same values at the same tick, whatever process serves it.

The device scripts import this module as a sibling (they run as ``python <script>``); the tests
import it as ``tests.e2e.plant.plant_model``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

NAMESPACE = "urn:valueloop:plant"
"""The OPC UA namespace of the machines (index 2 on the server)."""

MACHINES = ("machine-1", "machine-2", "machine-3")
SIGNAL_UNITS = {
    "vibration": "mm/s",
    "bearing_temperature": "degC",
    "power": "kW",
    "speed": "rpm",
}
"""The signals each machine serves, with their units."""

SPEED_SETPOINT = "speed_setpoint"
NOMINAL_SPEED_RPM = 1480.0
"""The machines' speed, and their speed set-point at start."""

RATED_POWER_KW = 40.0
LOAD_PERIOD_S = 45.0
DAY_S = 600.0

FAULT_VIBRATION_FACTOR = 4.0
FAULT_TEMPERATURE_RISE_C = 8.0
FAULT_TAU_S = 5.0
"""A faulty bearing: vibration times 4 at once; temperature rising towards +8 degC (first order,
time constant 5 s), and cooling back with the same time constant once the fault has ended."""

AMBIENT_TOPICS = {
    "temperature": "plant/ambient/temperature",
    "humidity": "plant/ambient/humidity",
}
"""The MQTT topic of each ambient signal (degC, percent)."""

SPARKPLUG_GROUP = "plant"
SPARKPLUG_NODE = "compressor-node"
SPARKPLUG_METRIC = "Discharge Pressure"
"""The Sparkplug B edge node of the air compressor and its metric (bar)."""


def opcua_endpoint(port: int, host: str = "127.0.0.1") -> str:
    """The OPC UA endpoint URL of the machines' server."""
    return f"opc.tcp://{host}:{port}/valueloop/plant"


def node_id(machine: str, variable: str) -> str:
    """The NodeId string of ``variable`` of ``machine``: ``ns=2;s=machine-1.vibration``."""
    return f"ns=2;s={machine}.{variable}"


def parse_epoch(text: str | None) -> float:
    """Seconds since 1970, to the millisecond, of an ISO 8601 instant (UTC if it has no zone);
    now if None."""
    instant = datetime.now(UTC) if text is None else datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return round(instant.timestamp(), 3)


def iso(seconds: float) -> str:
    """An instant (seconds since 1970) as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def noise(seed: int, stream: int, tick: int, size: int) -> np.ndarray:
    """``size`` standard normal draws for ``tick`` of a device's ``stream``."""
    return np.random.default_rng([seed, stream, tick]).standard_normal(size)


def load(t: float) -> float:
    """The plant's shared load profile at ``t`` s, between about 0.1 and 0.9."""
    return (
        0.5
        + 0.3 * math.sin(2 * math.pi * t / LOAD_PERIOD_S)
        + 0.1 * math.sin(2 * math.pi * t / 13.7 + 1.0)
    )


def day(t: float, phase: float = 0.0) -> float:
    """The slow daily wobble at ``t`` s, between -1 and 1."""
    return math.sin(2 * math.pi * t / DAY_S + phase)


@dataclass(frozen=True)
class Machine:
    """A machine's own healthy levels (machines differ a little, by seed)."""

    vibration: float
    """mm/s"""
    bearing_temperature: float
    """degC"""
    rated_power: float
    """kW at nominal speed and mean load"""
    phase: float
    """of its daily wobble, radians"""


def machines(seed: int) -> dict[str, Machine]:
    """The plant's machines for ``seed``."""
    rng = np.random.default_rng([seed, 0])
    return {
        name: Machine(
            vibration=float(rng.uniform(1.8, 2.2)),
            bearing_temperature=float(rng.uniform(53.0, 57.0)),
            rated_power=float(rng.uniform(38.0, 42.0)),
            phase=float(rng.uniform(0, 2 * math.pi)),
        )
        for name in MACHINES
    }


def power_at_load(machine: Machine, share: float, speed: float = NOMINAL_SPEED_RPM) -> float:
    """The machine's power in kW without noise at load ``share`` (0 to 1) and ``speed`` rpm: the
    load share times the affinity law (n**3)."""
    return machine.rated_power * (0.85 + 0.3 * share) * (speed / NOMINAL_SPEED_RPM) ** 3


def machine_power(machine: Machine, t: float, speed: float = NOMINAL_SPEED_RPM) -> float:
    """The machine's power in kW without noise at ``t`` s, on the plant's load profile."""
    return power_at_load(machine, load(t), speed)


@dataclass(frozen=True)
class Fault:
    """A bearing fault of ``machine`` from ``at`` s for ``duration`` s on the plant's timeline.

    A tick at ``t`` is faulty when ``at <= t < at + duration``.
    """

    machine: str
    at: float
    duration: float

    @property
    def end(self) -> float:
        """When the fault is over, s."""
        return self.at + self.duration

    def active(self, t: float) -> bool:
        """Whether the machine is faulty at ``t`` s."""
        return self.at <= t < self.end

    def temperature_rise(self, t: float) -> float:
        """The bearing's temperature above healthy at ``t`` s, degC."""
        if t < self.at:
            return 0.0
        heated = FAULT_TEMPERATURE_RISE_C * (
            1 - math.exp(-(min(t, self.end) - self.at) / FAULT_TAU_S)
        )
        if t < self.end:
            return heated
        return heated * math.exp(-(t - self.end) / FAULT_TAU_S)

    def first_tick(self, instant: float, rate_hz: float) -> float:
        """The time of the first tick (every ``1 / rate_hz`` s from 0) at or after ``instant``."""
        return math.ceil(instant * rate_hz - 1e-9) / rate_hz
