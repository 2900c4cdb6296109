"""The console page: served at /, self-hosted (ECharts vendored) and strict about what it loads."""

from __future__ import annotations

import fnmatch
import logging
import re
import tomllib
from pathlib import Path

from fastapi.testclient import TestClient

from valueloop.api.app import RedactTokens, create_app
from valueloop.console import STATIC_DIR
from valueloop.site import Site

PACKAGE_ROOT = Path(STATIC_DIR).parents[1]
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never requested
IMPORTED = re.compile(r"""(?:from|import\()\s*["'](\.{1,2}/[^"']+)["']""")
"""A module a console script imports, by its relative path."""
OWN_CODE = sorted(
    path
    for path in Path(STATIC_DIR).rglob("*")
    if path.suffix in {".html", ".css", ".js"} and path.name != "echarts.min.js"
    and "swagger" not in path.parts
)  # fmt: skip


def test_page_is_served_with_a_strict_policy(site: Site) -> None:
    with TestClient(create_app(site)) as client:
        page = client.get("/?token=anything")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        assert page.headers["Referrer-Policy"] == "no-referrer"
        for part in ("view", "nav", "signin-form", "dialog", "alarm-count"):
            assert f'id="{part}"' in page.text
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            if asset.startswith(("data:", "#")):
                continue
            assert asset.startswith("static/"), asset
            assert client.get("/" + asset).status_code == 200, asset


def test_nothing_is_loaded_from_outside() -> None:
    assert len(OWN_CODE) > 10
    for path in OWN_CODE:
        text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
        assert not re.search(r"https?://", text), path.name
        assert "<script>" not in text and " on" + "click=" not in text, path.name


def test_every_module_the_console_imports_is_served(site: Site) -> None:
    with TestClient(create_app(site)) as client:
        for path in OWN_CODE:
            if path.suffix != ".js":
                continue
            folder = path.parent.relative_to(STATIC_DIR).as_posix()
            for name in IMPORTED.findall(path.read_text()):
                url = "/static/" + Path(folder, name).as_posix()
                resolved = "/".join(_resolve(url.split("/")))
                assert client.get(resolved).status_code == 200, (path.name, name)


def _resolve(parts: list[str]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part not in (".", ""):
            out.append(part)
    return ["", *out]


def test_echarts_is_vendored_with_its_licence() -> None:
    echarts = (STATIC_DIR / "echarts.min.js").read_text(encoding="utf-8")
    assert 'version:"6.1.0"' in echarts
    licence = (STATIC_DIR / "ECHARTS-LICENSE.txt").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Apache ECharts" in licence


def test_every_static_file_is_shipped_by_package_data() -> None:
    pyproject = tomllib.loads((PACKAGE_ROOT.parents[1] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["valueloop"]
    for path in Path(STATIC_DIR).rglob("*"):
        if path.is_file():
            relative = path.relative_to(PACKAGE_ROOT).as_posix()
            assert any(fnmatch.fnmatchcase(relative, glob) for glob in globs), relative


def test_tokens_in_the_access_log_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/?token=vl_ab12cd34_s3cret&x=1", "1.1", 200), None,
    )  # fmt: skip
    assert RedactTokens().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "/?token=[redacted]&x=1" in record.getMessage()


def test_the_readme_shows_the_console_in_small_screenshots() -> None:
    root = PACKAGE_ROOT.parents[1]
    shown = re.findall(
        r"!\[[^\]]+\]\((docs/images/console-[^)]+\.png)\)", (root / "README.md").read_text()
    )
    assert len(shown) >= 3
    for name in shown:
        image = (root / name).read_bytes()
        assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) < 200_000, name
