"""``edge.yaml``: what an edge agent reads, where its outbox lives and where it forwards to.

Example::

    edge:
      name: press-shop-1          # names the agent's batches and its outbox
      outbox: outbox.sqlite       # relative to the agent's data directory
    forward:
      kind: http
      url: http://central:8000    # the central valueloop serve
      token_env: VALUELOOP_EDGE_TOKEN   # an ``ingest`` token, read from this environment variable
    connectors:
      - name: line-1-mqtt
        kind: mqtt
        ...                       # as in site.yaml

The token is never written in the file: it is read from the named environment variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from valueloop.config import connector_specs, read_yaml
from valueloop.connectors.spec import ConnectorSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EdgeInfo(_Strict):
    """The agent's identity and its outbox."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    outbox: str = "outbox.sqlite"


class HttpForward(_Strict):
    """Forward over HTTP to the central ``POST /api/ingest``."""

    kind: Literal["http"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    token_env: str = "VALUELOOP_EDGE_TOKEN"
    timeout_s: Annotated[float, Field(gt=0)] = 10.0
    retry_min_s: Annotated[float, Field(gt=0)] = 0.5
    retry_max_s: Annotated[float, Field(gt=0)] = 30.0


class EdgeConfig(_Strict):
    """A whole ``edge.yaml``."""

    edge: EdgeInfo
    forward: HttpForward
    connectors: Annotated[list[ConnectorSpec], Field(min_length=1)]

    @field_validator("connectors", mode="before")
    @classmethod
    def _connector_specs(cls, value: Any) -> list[ConnectorSpec]:
        return connector_specs(value)


def load_edge(path: str | Path) -> EdgeConfig:
    """Read and validate an ``edge.yaml``; errors name the file, line and field."""
    return read_yaml(path, EdgeConfig, what="edge configuration")
