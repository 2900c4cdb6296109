"""A small plant for the console's routes: two pumps with a flow limit alarm and a speed set-point.

:func:`open_plant` writes its ``site.yaml`` and opens it; :func:`plant_client` serves it through
:func:`valueloop.api.app.create_app` in a test client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from valueloop.api.app import create_app
from valueloop.site import Site, open_site

SITE = """
site: {name: works, timezone: Europe/Berlin, currency: EUR}
asset_types:
  pump:
    signals: {flow: {unit: l/min}, power: {unit: kW}}
    setpoints: {speed: {unit: rpm, min: 500, max: 3000, max_step: 200}}
    alarms:
      - {name: flow_high, signal: flow, limits: {hi: 100}, priority: high}
assets:
  - {path: pumping/line-1/pump-1, type: pump}
  - {path: pumping/line-1/pump-2, type: pump}
  - {path: dosing/line-2/pump-3, type: pump}
"""
FLOW = "works/pumping/line-1/pump-1/flow"


def write_plant(folder: Path) -> Path:
    """The plant's ``site.yaml`` in ``folder``."""
    site_file = folder / "site.yaml"
    site_file.write_text(SITE)
    return site_file


@contextmanager
def plant_client(folder: Path) -> Iterator[tuple[Site, TestClient]]:
    """The opened plant and a client of its application; closed after."""
    site = open_site(write_plant(folder), folder / "data")
    try:
        with TestClient(create_app(site)) as client:
            yield site, client
    finally:
        site.close()


def series_id(site: Site, path: str) -> int:
    """The id of the series at ``path``."""
    return int(site.registry.lookup([path]).column("series_id")[0].as_py())
