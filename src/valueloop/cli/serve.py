"""``valueloop serve``: a site's connectors, engine and API on the real clock, until interrupted."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valueloop.connectors.runner import SourceRunner, build_sources
from valueloop.ingest.sources import SourceIngest
from valueloop.site import Site, open_site, site_file_of

console = Console()

DEFAULT_DATA_DIR = Path("valueloop-data")


def field_sources(site: Site) -> SourceRunner:
    """A runner of the site's field connectors, storing what they read as they read it."""
    sources = build_sources(site.config.connectors)
    ingest = SourceIngest(site.pipeline, site.batches, sources, known=site.model.knows)
    return SourceRunner(sources, ingest.keep)


def serve_site(site: Site, host: str, port: int) -> None:
    """Serve a site: its field connectors, its engine's jobs and its API, until interrupted."""
    import uvicorn

    from valueloop.api.app import create_app
    from valueloop.engine.build import open_engine
    from valueloop.engine.clock import RealClock

    engine = open_engine(site, RealClock())
    app = create_app(site)
    runner = field_sources(site)
    app.state.connectors = runner
    app.state.engine = engine
    stop = threading.Event()
    worker = threading.Thread(target=engine.serve, args=(stop,), name="engine", daemon=True)
    runner.start()
    worker.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        worker.join(timeout=10)
        runner.stop()


def serve(
    site: Annotated[
        Path | None,
        typer.Option(help="The site.yaml (default: the copy kept in the data directory)."),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="The site's data directory.")] = DEFAULT_DATA_DIR,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Run a site: read its field, run its analytics, alarms and rules, serve its API."""
    opened = open_site(site_file_of(site, data_dir), data_dir)
    console.print(f"console and API on http://{host}:{port}/ (docs at /docs); Ctrl-C stops")
    try:
        serve_site(opened, host, port)
    finally:
        opened.close()
