"""The README's configuration examples are valid: each connector and the edge.yaml validate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from valueloop.config import connector_specs
from valueloop.edge.config import EdgeConfig

README = Path(__file__).resolve().parents[1] / "README.md"


def _yaml_blocks() -> list[Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    return [yaml.safe_load(block) for block in blocks]


def test_every_connector_example_validates() -> None:
    kinds = set()
    for document in _yaml_blocks():
        entries = document.get("connectors", []) if isinstance(document, dict) else document
        for spec in connector_specs(entries):
            kinds.add(spec.kind)
    assert kinds >= {"mqtt", "sparkplug", "opcua", "modbus"}


def test_the_edge_example_validates() -> None:
    edges = [d for d in _yaml_blocks() if isinstance(d, dict) and "edge" in d]
    assert len(edges) == 1
    config = EdgeConfig.model_validate(edges[0])
    assert config.forward.token_env == "VALUELOOP_EDGE_TOKEN"
