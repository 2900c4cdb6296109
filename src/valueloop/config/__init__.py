"""The site description (``site.yaml``) and the YAML reading every configuration file shares.

:func:`load_site` validates a file section by section (pydantic) and then across sections
(:mod:`.check`); every problem is reported with the file, line and field it is at.
"""

from __future__ import annotations

from pathlib import Path

from valueloop.config.check import KindCatalogue, prepare_site, site_problems
from valueloop.config.connectors import connector_specs
from valueloop.config.site import (
    AssetSpec,
    AutoMaintenance,
    DecisionsSpec,
    KindPolicy,
    MaintenanceSpec,
    PlannerSpec,
    PolicySpec,
    RuleSpec,
    SiteConfig,
    SiteInfo,
    StoreSpec,
    TariffSpec,
    WebhookSpec,
)
from valueloop.config.types import (
    AlarmSpec,
    AssetType,
    BindingSpec,
    CostsSpec,
    GuardSpec,
    SetpointSpec,
    SignalSpec,
)
from valueloop.config.yamlio import parse_duration, parse_yaml, read_yaml

__all__ = [
    "AlarmSpec",
    "AssetSpec",
    "AssetType",
    "AutoMaintenance",
    "BindingSpec",
    "CostsSpec",
    "DecisionsSpec",
    "GuardSpec",
    "KindCatalogue",
    "KindPolicy",
    "MaintenanceSpec",
    "PlannerSpec",
    "PolicySpec",
    "RuleSpec",
    "SetpointSpec",
    "SignalSpec",
    "SiteConfig",
    "SiteInfo",
    "StoreSpec",
    "TariffSpec",
    "WebhookSpec",
    "connector_specs",
    "load_site",
    "parse_duration",
    "parse_site",
    "parse_yaml",
    "prepare_site",
    "read_yaml",
    "site_problems",
]

WHAT = "site configuration"


def parse_site(
    text: str, *, source: str = "site.yaml", kinds: KindCatalogue | None = None
) -> SiteConfig:
    """Validate site YAML text; errors name the file, line and field. Units are folded in."""
    config = parse_yaml(
        text, SiteConfig, source=source, what=WHAT, check=lambda c: site_problems(c, kinds)
    )
    return prepare_site(config, kinds)


def load_site(path: str | Path, *, kinds: KindCatalogue | None = None) -> SiteConfig:
    """Read and validate a ``site.yaml`` file (see :func:`parse_site`)."""
    config = read_yaml(path, SiteConfig, what=WHAT, check=lambda c: site_problems(c, kinds))
    return prepare_site(config, kinds)
