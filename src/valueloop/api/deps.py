"""Shared FastAPI dependencies: the site an application serves."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from valueloop.site import Site


async def get_site(request: Request) -> Site:
    """The site the application was created for (on the event loop: it only looks it up)."""
    site: Site = request.app.state.site
    return site


SiteDep = Annotated[Site, Depends(get_site)]
"""A route parameter receiving the application's site."""
