"""``valueloop init``: a commented starter site.yaml, optionally filled from an OPC UA server."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from valueloop.errors import ConfigError


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600), replacing it at once."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def init(
    path: Annotated[Path, typer.Argument(help="The site file to write.")] = Path("site.yaml"),
    from_opcua: Annotated[
        str | None,
        typer.Option(
            "--from-opcua",
            metavar="ENDPOINT",
            help="Browse this OPC UA server (opc.tcp://host:port) and fill types, assets and "
            "a connector from its variables.",
        ),
    ] = None,
    site: Annotated[str, typer.Option("--site", help="The site's name.")] = "plant",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter site.yaml that validates as written.

    The file is readable by its owner only (mode 0600): it may come to hold connector passwords.
    """
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import parse_site
    from valueloop.config.starter import OpcUaImport, starter_site

    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it")
    opcua = None
    if from_opcua is not None:
        import yaml

        from valueloop.connectors.opcua.browse import browse, points_from_browse

        table = asyncio.run(browse(from_opcua))
        mapping = yaml.safe_load(points_from_browse(table))
        opcua = OpcUaImport(from_opcua, mapping["points"], mapping["setpoints"])
    text = starter_site(site, opcua=opcua)
    config = parse_site(text, source=str(path), kinds=KINDS)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, text)
    assets = sum(len(spec.expand()) for spec in config.assets)
    typer.echo(
        f"wrote {path}: {len(config.asset_types)} asset types, {assets} assets, "
        f"{len(config.connectors)} connectors; check it with `valueloop validate {path}`"
    )
