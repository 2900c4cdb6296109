"""``valueloop serve``: the API and console of a site, with approved work orders executed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.connectors.runner import SourceRunner, build_sources
from valueloop.ingest.sources import SourceIngest
from valueloop.loop import Loop, model_path
from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site

console = Console()

EXECUTE_EVERY_S = 5.0


def _executor(site: Site, stop: threading.Event) -> None:
    """Execute work orders approved from the console or the API, every few seconds."""
    loop = Loop(site)
    models: dict[str, GradientBoostingRUL] = {}
    while not stop.wait(EXECUTE_EVERY_S):
        latest = site.predictions.latest()
        if latest.num_rows == 0:
            continue
        version = str(latest.column("model_version")[0].as_py())
        path = model_path(site, version)
        if version not in models and path.is_file():
            models[version] = GradientBoostingRUL.load(path)
        if version in models:
            restored = loop.execute_approved(models[version], run_id="console")
            for asset, rul in restored.items():
                console.print(f"executed: {asset} restored, predicted life {rul:.0f} cycles")


def field_sources(site: Site) -> SourceRunner:
    """A runner of the site's field connectors, storing what they read as they read it."""
    sources = build_sources(site.config.connectors)
    return SourceRunner(sources, SourceIngest(site.pipeline, site.batches, sources).keep)


def serve_site(site: Site, host: str, port: int) -> None:
    """Serve a site's API and console, and run its field connectors, until interrupted."""
    import uvicorn

    from valueloop.api.app import create_app

    stop = threading.Event()
    worker = threading.Thread(target=_executor, args=(site, stop), daemon=True)
    worker.start()
    app = create_app(site)
    runner = field_sources(site)
    app.state.connectors = runner
    runner.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        runner.stop()
        stop.set()
        worker.join(timeout=EXECUTE_EVERY_S * 2)


def serve(
    data_dir: Annotated[Path, typer.Option(help="The site's data directory.")] = Path(
        "valueloop-data"
    ),
    site: Annotated[Path, typer.Option(help="The site.yaml.")] = PACK.site_file,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Serve the console and API of a site that has run (tokens: ``valueloop users add``)."""
    opened = open_site(site, data_dir)
    console.print(f"console and API on http://{host}:{port}/ (docs at /docs); Ctrl-C stops")
    try:
        serve_site(opened, host, port)
    finally:
        opened.close()
