"""``valueloop validate``: check a site.yaml and say what it describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def validate(site: Annotated[Path, typer.Argument(help="A site.yaml to check.")]) -> None:
    """Check a site.yaml (every section, the references between them, units and analytic
    kinds) and print what it describes."""
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import load_site

    config = load_site(site, kinds=KINDS)
    assets = [path for spec in config.assets for path in spec.expand()]
    typer.echo(
        json.dumps(
            {
                "site": config.site.name,
                "assets": len(assets),
                "types": sorted(config.asset_types),
                "signals": sum(
                    len(config.asset_types[spec.type].signals) * len(spec.expand())
                    for spec in config.assets
                    if spec.type in config.asset_types
                ),
                "connectors": [c.name for c in config.connectors],
                "currency": config.site.currency,
            }
        )
    )
