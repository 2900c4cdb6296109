"""``valueloop serve``: a site's connectors, engine and API on the real clock, until interrupted."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valueloop.api.throttle import FAILURES
from valueloop.api.timeout import REQUEST_TIMEOUT
from valueloop.connectors.runner import SourceRunner, build_sources
from valueloop.connectors.secrets import unsafe_file
from valueloop.errors import ConfigError
from valueloop.ingest.sources import SourceIngest
from valueloop.site import Site, open_site, site_file_of
from valueloop.store.births import BirthCertificates

console = Console()

DEFAULT_DATA_DIR = Path("valueloop-data")


def field_sources(site: Site) -> SourceRunner:
    """A runner of the site's field connectors, storing what they read as they read it."""
    sources = build_sources(site.config.connectors, births=BirthCertificates(site.store))
    ingest = SourceIngest(site.pipeline, site.batches, sources, known=site.model.knows)
    return SourceRunner(sources, ingest.keep)


@dataclass(frozen=True)
class TlsFiles:
    """The server's certificate (PEM, with its chain) and its private key (PEM, ``chmod 600``)."""

    cert: Path
    key: Path


def tls_files(cert: Path | None, key: Path | None) -> TlsFiles | None:
    """The TLS files given by ``--tls-cert`` and ``--tls-key``, checked; None when neither is.

    Raises ConfigError when only one is given, a file is missing or unreadable, the key is
    readable by group or others, or the two are not a certificate and its (unencrypted) key.
    """
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("give both --tls-cert and --tls-key to serve over HTTPS, or neither")
    try:
        with cert.open("rb"):
            pass
    except OSError as err:
        raise ConfigError(f"--tls-cert: cannot read {cert} ({err.strerror})") from err
    problem = unsafe_file(key)
    if problem is not None:
        raise ConfigError(f"--tls-key: {problem}")

    def encrypted() -> str:
        raise ConfigError(f"--tls-key: {key} is encrypted; give the key without a passphrase")

    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key, password=encrypted)
    except ssl.SSLError as err:
        raise ConfigError(
            f"--tls-cert {cert} and --tls-key {key} are not a PEM certificate and its private "
            f"key ({err.reason or err})"
        ) from err
    return TlsFiles(cert, key)


def serve_site(
    site: Site,
    host: str,
    port: int,
    tls: TlsFiles | None = None,
    *,
    request_timeout: float = REQUEST_TIMEOUT,
    refused_tokens: int = FAILURES,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Serve a site: its field connectors, its engine's jobs and its API, until interrupted;
    over HTTPS when ``tls`` is given. A request whose headers, body or answer take longer than
    ``request_timeout`` seconds is cut (see :mod:`valueloop.api.timeout`); an address whose
    tokens are refused ``refused_tokens`` times within a minute is barred for a minute.

    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the addresses (or
    networks) in ``trusted_proxies``; from anyone else, and from everyone when it is empty, the
    client is the connection's peer."""
    import uvicorn

    from valueloop.api.app import create_app
    from valueloop.api.timeout import timed_protocol
    from valueloop.engine.build import open_engine
    from valueloop.engine.clock import RealClock

    engine = open_engine(site, RealClock())
    app = create_app(site, request_timeout=request_timeout, refused_tokens=refused_tokens)
    runner = field_sources(site)
    app.state.connectors = runner
    app.state.engine = engine
    stop = threading.Event()
    worker = threading.Thread(target=engine.serve, args=(stop,), name="engine", daemon=True)
    runner.start()
    worker.start()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            http=timed_protocol(request_timeout),
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or None,
            ssl_certfile=tls.cert if tls else None,
            ssl_keyfile=tls.key if tls else None,
        )
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
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="Serve over HTTPS with this certificate (PEM, with its chain)."),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help="The certificate's private key (PEM; readable by its owner only)."),
    ] = None,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Seconds a request's headers, its body and its answer may each take: a slower "
            "client is answered 408, a slower answer 504, and the connection closed.",
        ),
    ] = REQUEST_TIMEOUT,
    refused_tokens: Annotated[
        int,
        typer.Option(
            min=1,
            help="Refused tokens from one address within a minute that bar it for a minute "
            "(behind a reverse proxy every client shares the proxy's address).",
        ),
    ] = FAILURES,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help="The address or network (CIDR) of a reverse proxy whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed; repeat for several. None by default: the client is "
            "the connection's peer.",
        ),
    ] = None,
) -> None:
    """Run a site: read its field, run its analytics, alarms and rules, serve its API."""
    tls = tls_files(tls_cert, tls_key)
    opened = open_site(site_file_of(site, data_dir), data_dir)
    scheme = "https" if tls else "http"
    console.print(f"console and API on {scheme}://{host}:{port}/ (docs at /docs); Ctrl-C stops")
    try:
        serve_site(
            opened,
            host,
            port,
            tls,
            request_timeout=request_timeout,
            refused_tokens=refused_tokens,
            trusted_proxies=trusted_proxy or (),
        )
    finally:
        opened.close()
