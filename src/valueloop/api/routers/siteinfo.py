"""The site's name, time zone and currency: how the console shows times and money."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from valueloop.api.deps import SiteDep

router = APIRouter(prefix="/site", tags=["site"])


class SiteOut(BaseModel):
    """What a face needs to know of the site to show its data."""

    name: str
    enterprise: str
    timezone: str = Field(description="IANA time zone, e.g. Europe/Berlin; API times are UTC")
    currency: str = Field(description="ISO 4217 code of every amount of money")


@router.get("")
def site_info(site: SiteDep) -> SiteOut:
    """The site's name, enterprise, time zone and currency."""
    info = site.config.site
    return SiteOut(
        name=info.name, enterprise=info.enterprise, timezone=info.timezone, currency=info.currency
    )
