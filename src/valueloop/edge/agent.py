"""The edge agent: connectors near the machines, everything kept in the outbox, forwarded centrally.

Each delivery of every connector is put in the outbox (durably) before the connector is asked for
the next one; a forwarder thread sends the outbox to the centre. The two halves are independent: a
dead link only makes the outbox grow, and a killed agent resumes from the outbox on restart.
Sparkplug hosts keep the births they receive in the outbox's database too, so that a restarted
agent decodes data by alias without asking the edge nodes to be born again.
"""

from __future__ import annotations

import threading
from pathlib import Path

from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.runner import SourceRunner, build_sources
from valueloop.connectors.status import ConnectorStatus
from valueloop.edge.births import OutboxBirths
from valueloop.edge.config import EdgeConfig
from valueloop.edge.forward import ForwardStats, HttpForwarder
from valueloop.edge.outbox import Outbox, OutboxState


class EdgeAgent:
    """Run an ``edge.yaml``: its connectors into the outbox, the outbox to the centre."""

    def __init__(self, config: EdgeConfig, data_dir: Path) -> None:
        self.config = config
        self.outbox = Outbox(data_dir / config.edge.outbox, edge=config.edge.name)
        self.sources = build_sources(config.connectors, births=OutboxBirths(self.outbox))
        self.forwarder = HttpForwarder(config.forward, self.outbox, self.declared_series)
        self.runner = SourceRunner(self.sources, self._keep)
        self._stop = threading.Event()
        self._forwarding = threading.Thread(
            target=self.forwarder.run, args=(self._stop,), name="forwarder", daemon=True
        )

    def declared_series(self) -> list[dict[str, str]]:
        """Every series the connectors deliver so far, as the centre's series declarations."""
        return [
            {"path": path, "unit": mapping.unit, "description": mapping.description}
            for source in self.sources
            for path, mapping in source.mappings()
        ]

    def _keep(self, source: str, delivery: FieldDelivery) -> None:
        self.outbox.put(source, delivery.readings, delivery.rejected)

    def start(self) -> None:
        """Start forwarding and reading."""
        self._forwarding.start()
        self.runner.start()

    def statuses(self) -> list[ConnectorStatus]:
        """The health of every connector."""
        return self.runner.statuses()

    def outbox_state(self) -> OutboxState:
        """What waits in the outbox."""
        return self.outbox.state()

    def forward_stats(self) -> ForwardStats:
        """What was forwarded so far."""
        return self.forwarder.stats

    def stop(self) -> None:
        """Stop the connectors, then the forwarder; what was not sent stays in the outbox."""
        self.runner.stop()
        self._stop.set()
        self._forwarding.join(timeout=30)
        self.forwarder.close()
        self.outbox.close()
