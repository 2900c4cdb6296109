"""The acceptance plant's field devices as real processes: start, wait, kill, restart, stop.

:class:`Plant` starts the four device processes of this folder on one timeline (the same
``--epoch`` and ``--seed``): the OPC UA machines and the Modbus meter on free ports, the MQTT
weather station and the Sparkplug B compressor node against a broker the caller gives (the
``plant`` fixture of ``conftest.py`` starts a Mosquitto of its own). Each device prints ``READY``
when it serves; the OPC UA server also prints ``FAULT_START`` / ``FAULT_END`` (see
``opcua_plant.py``), which :meth:`Plant.fault_window` reads. :meth:`Plant.site_text` fills the
ports into ``plant.site.yaml``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from tests.connectors.peers import free_port

HERE = Path(__file__).resolve().parent
SITE_TEMPLATE = HERE / "plant.site.yaml"
PLACEHOLDERS = ("opcua_port", "modbus_port", "mqtt_port")


@dataclass(frozen=True)
class PlantSettings:
    """How the plant behaves: noise seed, OPC UA update rate and the bearing fault (s after the
    plant's epoch, which is when :meth:`Plant.start` was called)."""

    seed: int = 7
    rate_hz: float = 2.0
    fault_machine: str = "machine-2"
    fault_at: float = 60.0
    fault_for: float = 30.0


class DeviceProcess:
    """``python <script> <arguments>``: its stdout lines gathered, its stderr in ``log``."""

    def __init__(self, name: str, script: str, arguments: list[str], log: Path) -> None:
        self.name = name
        self.command = [sys.executable, str(HERE / script), *arguments]
        self.log = log
        self.lines: list[str] = []
        """Every line the device printed, over all its runs."""
        self._printed = threading.Condition()
        self._ready_from = 0
        self._process: subprocess.Popen[str] | None = None

    def launch(self) -> None:
        """Start the process; :meth:`wait_ready` waits until it serves."""
        with self.log.open("a") as log:
            self._process = subprocess.Popen(
                self.command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=HERE
            )
        with self._printed:
            self._ready_from = len(self.lines)
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._printed:
                self.lines.append(line.strip())
                self._printed.notify_all()

    def wait_for(self, word: str, timeout: float, since: int = 0) -> str:
        """The first line from index ``since`` on that starts with ``word``; waits ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._printed:
            while True:
                found = [line for line in self.lines[since:] if line.split(" ")[0] == word]
                if found:
                    return found[0]
                exited = self._process is None or self._process.poll() is not None
                left = deadline - time.monotonic()
                if exited or left <= 0:
                    why = "exited" if exited else f"did not print {word} within {timeout} s"
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{self.name} {why}; printed {self.lines}; stderr: {tail}")
                self._printed.wait(min(left, 0.5))

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once this run of the device printed ``READY``."""
        self.wait_for("READY", timeout, self._ready_from)

    def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until it serves."""
        self.launch()
        self.wait_ready(timeout)

    @property
    def running(self) -> bool:
        """Whether the process runs now."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the device drops off the network with no goodbye, as in a power loss."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)

    def stop(self) -> None:
        """End the process: SIGTERM, then SIGKILL if it is still there after 5 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Plant:
    """The four field devices of the plant, as processes on one timeline.

    Attributes:
        epoch: the plant's time 0 (to the millisecond), set by :meth:`start`.
        opcua_port, modbus_port, mqtt_port: where the devices serve (MQTT: the broker's port).
        devices: the processes by name: ``opcua``, ``modbus``, ``mqtt``, ``sparkplug``.
    """

    def __init__(self, folder: Path, mqtt_port: int, settings: PlantSettings | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.settings = settings or PlantSettings()
        self.mqtt_port = mqtt_port
        self.opcua_port = free_port()
        self.modbus_port = free_port()
        self.epoch = datetime.now(UTC)
        self.devices: dict[str, DeviceProcess] = {}

    def _arguments(self) -> dict[str, tuple[str, list[str]]]:
        s = self.settings
        common = ["--epoch", self.epoch.isoformat(timespec="milliseconds"), "--seed", str(s.seed)]
        fault = [
            *("--fault-machine", s.fault_machine),
            *("--fault-at", str(s.fault_at), "--fault-for", str(s.fault_for)),
        ]
        mqtt = ["--port", str(self.mqtt_port)]
        return {
            "opcua": (
                "opcua_plant.py",
                ["--port", str(self.opcua_port), *common, "--rate-hz", str(s.rate_hz), *fault],
            ),
            "modbus": ("modbus_meter.py", ["--port", str(self.modbus_port), *common]),
            "mqtt": ("mqtt_device.py", [*mqtt, *common]),
            "sparkplug": ("sparkplug_device.py", [*mqtt, *common]),
        }

    def start(self, timeout: float = 60.0) -> Plant:
        """Start every device (the plant's epoch is now) and wait until each serves."""
        now = datetime.now(UTC)
        self.epoch = now.replace(microsecond=now.microsecond // 1000 * 1000)
        for name, (script, arguments) in self._arguments().items():
            self.devices[name] = DeviceProcess(name, script, arguments, self.folder / f"{name}.log")
        try:
            for device in self.devices.values():
                device.launch()
            for device in self.devices.values():
                device.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every device process."""
        for device in self.devices.values():
            device.stop()

    @property
    def opcua(self) -> DeviceProcess:
        """The OPC UA server of the machines."""
        return self.devices["opcua"]

    def kill_opcua(self) -> None:
        """SIGKILL the OPC UA server (its clients see the link drop)."""
        self.opcua.kill()

    def start_opcua(self, timeout: float = 60.0) -> None:
        """Start the OPC UA server again on the same port and timeline; wait until it serves."""
        self.opcua.stop()
        self.opcua.start(timeout)

    def fault_window(self, timeout: float) -> tuple[datetime, datetime]:
        """The fault's first tick and the first tick after it, as the OPC UA server printed them:
        its values stamped in ``[start, end)`` are faulty. Waits up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        start = self.opcua.wait_for("FAULT_START", timeout)
        end = self.opcua.wait_for("FAULT_END", max(0.0, deadline - time.monotonic()))
        return (
            datetime.fromisoformat(start.split(" ", 1)[1]),
            datetime.fromisoformat(end.split(" ", 1)[1]),
        )

    def at(self, seconds: float) -> datetime:
        """The instant ``seconds`` after the plant's epoch."""
        return datetime.fromtimestamp(self.epoch.timestamp() + seconds, UTC)

    def site_text(self) -> str:
        """``plant.site.yaml`` with this plant's ports filled in."""
        text = SITE_TEMPLATE.read_text()
        for name in PLACEHOLDERS:
            text = text.replace("{" + name + "}", str(getattr(self, name)))
        return text

    def write_site(self, path: Path) -> Path:
        """Write :meth:`site_text` to ``path``; return ``path``."""
        path.write_text(self.site_text())
        return path

    def __enter__(self) -> Plant:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
