"""``valueloop schema``: the JSON Schema (or Markdown reference) of the configuration files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from valueloop.config.jsonschema import ConnectorKinds

app = typer.Typer(help="JSON Schemas of site.yaml and edge.yaml.", no_args_is_help=True)


def _warn_unavailable(kinds: ConnectorKinds) -> None:
    for kind, reason in kinds.unavailable.items():
        typer.echo(f"warning: connector kind {kind!r} left out: {reason}", err=True)


@app.command("site")
def site(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="The Markdown reference (docs/site-reference.md).")
    ] = False,
) -> None:
    """Print the JSON Schema of site.yaml, connectors of every installed kind included."""
    from valueloop.config import SiteConfig
    from valueloop.config.jsonschema import config_json_schema, connector_kinds
    from valueloop.config.reference import site_reference

    kinds = connector_kinds()
    _warn_unavailable(kinds)
    if markdown:
        typer.echo(site_reference(kinds), nl=False)
    else:
        typer.echo(json.dumps(config_json_schema(SiteConfig, kinds), indent=2))


@app.command("edge")
def edge() -> None:
    """Print the JSON Schema of edge.yaml, connectors of every installed kind included."""
    from valueloop.config.jsonschema import config_json_schema, connector_kinds
    from valueloop.edge.config import EdgeConfig

    kinds = connector_kinds()
    _warn_unavailable(kinds)
    typer.echo(json.dumps(config_json_schema(EdgeConfig, kinds), indent=2))
