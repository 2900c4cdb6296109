"""``valueloop edge``: run an edge agent, and see what waits in its outbox."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from valueloop.edge.agent import EdgeAgent

app = typer.Typer(help="The edge agent: connectors, outbox, forwarding.", no_args_is_help=True)
console = Console(stderr=True)

EdgeFile = Annotated[Path, typer.Argument(help="The edge.yaml to run.")]
EdgeDir = Annotated[
    Path, typer.Option("--data-dir", help="Folder of the outbox and the status file.")
]
STATUS_FILE = "status.json"
STATUS_EVERY_S = 2.0


def _status(agent: EdgeAgent) -> dict[str, Any]:
    return {
        "edge": agent.config.edge.name,
        "connectors": [asdict(status) for status in agent.statuses()],
        "outbox": asdict(agent.outbox_state()),
        "forwarded": asdict(agent.forward_stats()),
        "centre_reachable": agent.forwarder.connected,
    }


def _write_status(path: Path, agent: EdgeAgent) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(_status(agent), default=str, indent=2))
    temporary.replace(path)


@app.command("run")
def run(edge: EdgeFile, data_dir: EdgeDir = Path("valueloop-edge")) -> None:
    """Run the connectors of ``edge.yaml``, keeping everything in the outbox and forwarding it."""
    from valueloop.edge.agent import EdgeAgent
    from valueloop.edge.config import load_edge

    config = load_edge(edge)
    data_dir.mkdir(parents=True, exist_ok=True)
    agent = EdgeAgent(config, data_dir)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    agent.start()
    console.print(
        f"edge {config.edge.name}: {len(agent.sources)} connectors, forwarding to "
        f"{config.forward.url}; status in {data_dir / STATUS_FILE}"
    )
    try:
        while not stop.wait(STATUS_EVERY_S):
            _write_status(data_dir / STATUS_FILE, agent)
    finally:
        _write_status(data_dir / STATUS_FILE, agent)
        agent.stop()
        console.print(f"edge {config.edge.name} stopped; what was not sent stays in the outbox")


@app.command("status")
def status(edge: EdgeFile, data_dir: EdgeDir = Path("valueloop-edge")) -> None:
    """Print the outbox's content and, if the agent runs, its connectors' last status."""
    from valueloop.edge.config import load_edge
    from valueloop.edge.outbox import Outbox

    config = load_edge(edge)
    outbox = Outbox(data_dir / config.edge.outbox, edge=config.edge.name)
    try:
        report: dict[str, Any] = {"outbox": asdict(outbox.state())}
    finally:
        outbox.close()
    status_file = data_dir / STATUS_FILE
    if status_file.is_file():
        last = json.loads(status_file.read_text())
        report["connectors"] = last["connectors"]
        report["forwarded"] = last["forwarded"]
    typer.echo(json.dumps(report, default=str, indent=2))
