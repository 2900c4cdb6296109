"""Lean edge install benchmark: the edge agent installed without the platform, measured for real.

In a fresh virtual environment, ``pip install <this repository>`` (not editable, no extra) installs
the command line and the edge agent. The benchmark then checks and measures:

- that none of the platform's packages (LightGBM, scikit-learn, OR-Tools, PyVRP, torch,
  pandapower, DuckDB, FastAPI...) was installed, and the installed size (``du`` of
  site-packages, the venv's own pip and setuptools left out);
- start-up, as bench/startup.py measures it, and the import of the edge agent with its MQTT
  connector;
- a real ``valueloop edge run``: readings published to the local Mosquitto (127.0.0.1:1883) reach
  a centre (``valueloop serve`` of this repository's full install) through the lean agent's
  outbox, and the agent stops cleanly on SIGINT;
- that a platform command (``valueloop demo``) on the lean install fails with one line naming
  the extra to install, exit status 2, and no traceback.

    python bench/edge_install.py [--repeat 5] [--keep-venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.publish as publish
from rich.console import Console

from common import write_result
from startup import commands, medians

ROOT = Path(__file__).resolve().parents[1]
BROKER = ("127.0.0.1", 1883)
READINGS = 20
PLATFORM_DISTRIBUTIONS = frozenset(
    {
        "duckdb",
        "fastapi",
        "uvicorn",
        "psycopg",
        "psycopg-binary",
        "psycopg-pool",
        "pint",
        "lightgbm",
        "scikit-learn",
        "scipy",
        "torch",
        "ortools",
        "highspy",
        "pyvrp",
        "pandapower",
        "pandas",
    }
)
VENV_BOOTSTRAP = ("pip", "setuptools", "_distutils_hack")
console = Console()


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def install(venv: Path) -> float:
    """Create ``venv`` and install this repository into it, lean; the seconds it took."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def installed(venv: Path) -> dict[str, str]:
    """The distributions installed in ``venv``, by normalised name, with their versions."""
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {row["name"].lower().replace("_", "-"): row["version"] for row in json.loads(listed)}


def disk_mib(*paths: Path) -> float:
    """Disk usage of ``paths`` in MiB, as ``du`` counts it."""
    if not paths:
        return 0.0
    out = subprocess.run(
        ["du", "-sk", "--total", *map(str, paths)], check=True, capture_output=True, text=True
    ).stdout
    return round(int(out.strip().splitlines()[-1].split()[0]) / 1024, 1)


def sizes(venv: Path) -> dict[str, Any]:
    """Installed size: all of site-packages, without the venv's bootstrap, and the largest."""
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    entries = list(site_packages.iterdir())
    bootstrap = [e for e in entries if e.name.split("-")[0] in VENV_BOOTSTRAP]
    packages = [e for e in entries if e.is_dir() and not e.name.endswith("-info")]
    largest = sorted(((disk_mib(p), p.name) for p in packages), reverse=True)[:6]
    return {
        "site_packages_mib": disk_mib(site_packages),
        "without_pip_setuptools_mib": round(disk_mib(site_packages) - disk_mib(*bootstrap), 1),
        "largest_mib": {name: mib for mib, name in largest},
    }


def startup(venv: Path, repeat: int) -> list[dict[str, Any]]:
    """Start-up medians of the lean install's commands and of the edge agent's import."""
    python = str(venv / "bin" / "python")
    runs = commands(python)
    runs["import edge agent + mqtt connector"] = [
        python,
        "-c",
        "import valueloop.edge.agent, valueloop.connectors.mqtt",
    ]
    return medians(runs, repeat)


def full(*arguments: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """``valueloop`` of this repository's full install (the one running this benchmark)."""
    return subprocess.run(
        [sys.executable, "-m", "valueloop", *arguments],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        **options,
    )


def wait_for(condition: Any, timeout: float, what: str) -> float:
    """Poll ``condition()`` until true; the seconds it took. Fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.2)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


def forwarded(status_file: Path) -> int:
    """Readings the agent's status file says were forwarded to the centre (0 if none yet)."""
    try:
        return int(json.loads(status_file.read_text())["forwarded"]["readings"])
    except (OSError, ValueError, KeyError):
        return 0


def edge_run(venv: Path, folder: Path) -> dict[str, Any]:
    """Run the lean agent between Mosquitto and a full centre; what reached the centre."""
    port = free_port()
    site = folder / "centre-site.yaml"
    site.write_text(
        "site: {name: plant}\nasset_types:\n  pump:\n    signals: {flow: l/min}\n"
        'assets:\n  - {path: "utilities/edge-bench/pump-0", type: pump}\n'
    )
    data = folder / "centre"
    token = full(
        *("users", "add", "edge-bench", "--role", "ingest"),
        *("--site", str(site), "--data-dir", str(data)),
    ).stdout.strip()
    topic = f"edge-bench/{os.getpid()}/pump-0/flow"
    edge_file = folder / "edge.yaml"
    edge_file.write_text(
        f"""edge: {{name: edge-bench}}
forward: {{kind: http, url: "http://127.0.0.1:{port}", retry_min_s: 0.2, retry_max_s: 1}}
connectors:
  - name: pumps
    kind: mqtt
    prefix: plant/utilities/edge-bench
    host: {BROKER[0]}
    port: {BROKER[1]}
    client_id: edge-bench-{os.getpid()}
    points:
      - {{topic: {topic}, series: pump-0/flow, unit: l/min}}
"""
    )
    centre = subprocess.Popen(
        [sys.executable, "-m", "valueloop", "serve", "--data-dir", str(data), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    edge_data = folder / "edge"
    started = time.monotonic()
    agent = subprocess.Popen(
        [
            str(venv / "bin" / "valueloop"),
            "edge",
            "run",
            str(edge_file),
            "--data-dir",
            str(edge_data),
        ],
        env={**os.environ, "VALUELOOP_EDGE_TOKEN": token, "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status_file = edge_data / "status.json"
        connected = wait_for(status_file.is_file, 60, "the edge agent to start")
        wait_for(lambda: _reachable(port), 120, "the centre to answer")
        stamp = int(time.time() * 1000) - READINGS * 1000
        publish.multiple(
            [
                (topic, json.dumps({"ts": stamp + i * 1000, "value": float(i)}), 1, False)
                for i in range(READINGS)
            ],
            hostname=BROKER[0],
            port=BROKER[1],
        )
        delivered = wait_for(
            lambda: forwarded(status_file) >= READINGS, 60, "the readings to reach the centre"
        )
    finally:
        agent.send_signal(signal.SIGINT)
        _, errors = agent.communicate(timeout=60)
        centre.terminate()
        centre.wait(timeout=60)
    if agent.returncode != 0:
        raise SystemExit(f"valueloop edge run ended with {agent.returncode}:\n{errors}")
    return {
        "agent_status_after_s": round(connected, 2),
        "readings_published": READINGS,
        "readings_forwarded": forwarded(status_file),
        "forwarded_within_s": round(delivered, 2),
        "agent_exit_status": agent.returncode,
        "agent_ran_s": round(time.monotonic() - started, 1),
    }


def _reachable(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def platform_command(venv: Path) -> dict[str, Any]:
    """``valueloop demo`` on the lean install: its exit status and what it printed."""
    done = subprocess.run(
        [str(venv / "bin" / "valueloop"), "demo"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    message = done.stderr.strip()
    if done.returncode != 2 or "Traceback" in message or "valueloop[platform]" not in message:
        raise SystemExit(f"valueloop demo on the lean install: {done.returncode}\n{message}")
    return {"exit_status": done.returncode, "message": message}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep-venv", type=Path, help="Build the venv here and keep it.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="valueloop-edge-") as scratch:
        venv = args.keep_venv or Path(scratch) / "venv"
        if venv.exists():
            shutil.rmtree(venv)
        console.print(f"installing {ROOT} into {venv} (lean, no extra)")
        install_s = install(venv)
        distributions = installed(venv)
        platform = sorted(PLATFORM_DISTRIBUTIONS & distributions.keys())
        if platform:
            raise SystemExit(f"the lean install pulled platform packages: {platform}")
        result = {
            "install_s": round(install_s, 1),
            "distributions": distributions,
            "size": sizes(venv),
            "startup": startup(venv, args.repeat),
            "edge_run": edge_run(venv, Path(scratch)),
            "platform_command": platform_command(venv),
            "repeat": args.repeat,
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    console.print_json(data={k: v for k, v in result.items() if k != "distributions"})
    console.print(f"written {write_result('edge_install', result)}")


if __name__ == "__main__":
    main()
