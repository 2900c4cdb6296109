"""The asset model of a site: its assets resolved from the tree, with their types and series.

:class:`SiteModel` answers what the engine, the ingest and the faces ask of a site description:
which assets there are (by name, with their ISA-95 place and type), the full path and unit of each
signal of each asset (``site/area/line/asset/signal``), and whether a series path belongs to the
site at all (a templated connector may name series that the model does not know; those are
dead-lettered, not invented).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from valueloop.config import AssetType, SiteConfig
from valueloop.model.assets import SeriesSpec
from valueloop.model.paths import is_series_path


@dataclass(frozen=True)
class Asset:
    """One asset: its name, ISA-95 place (area, line), type and attribute values."""

    name: str
    area: str
    line: str
    type_name: str
    type: AssetType
    attributes: dict[str, Any]

    @property
    def path(self) -> str:
        """``area/line/asset``."""
        return f"{self.area}/{self.line}/{self.name}"


class SiteModel:
    """The assets of a validated site description, by name."""

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.name = config.site.name
        self.assets: dict[str, Asset] = {}
        for spec in config.assets:
            kind_type = config.asset_types[spec.type]
            defaults = {
                key: attribute.default
                for key, attribute in kind_type.attributes.items()
                if attribute.default is not None
            }
            for path in spec.expand():
                area, line, name = path.split("/")
                self.assets[name] = Asset(
                    name, area, line, spec.type, kind_type, {**defaults, **spec.attributes}
                )

    def of_type(self, type_name: str) -> list[Asset]:
        """The assets of a type, in declaration order."""
        return [asset for asset in self.assets.values() if asset.type_name == type_name]

    def path(self, asset: str, signal: str) -> str:
        """The full series path of ``signal`` of ``asset``."""
        found = self.assets[asset]
        return f"{self.name}/{found.area}/{found.line}/{asset}/{signal}"

    def signal_series(self) -> Iterator[SeriesSpec]:
        """Every measured signal and set-point of every asset, as series to register."""
        for asset in self.assets.values():
            for signal, spec in asset.type.signals.items():
                yield SeriesSpec(
                    self.path(asset.name, signal), asset.name, signal, spec.unit, spec.description
                )
            for setpoint, point in asset.type.setpoints.items():
                yield SeriesSpec(
                    self.path(asset.name, setpoint),
                    asset.name,
                    setpoint,
                    point.unit,
                    point.description or f"set-point ({point.min} to {point.max})",
                )

    def unit(self, asset: str, signal: str) -> str | None:
        """The unit of a measured signal or set-point of ``asset``; None if it has none such."""
        found = self.assets.get(asset)
        if found is None:
            return None
        if signal in found.type.signals:
            return found.type.signals[signal].unit
        if signal in found.type.setpoints:
            return found.type.setpoints[signal].unit
        return None

    def knows(self, path: str) -> bool:
        """Whether ``path`` names a signal or set-point of an asset of this site, where it is."""
        if not is_series_path(path):
            return False
        site, area, line, asset, signal = path.split("/")
        found = self.assets.get(asset)
        return (
            found is not None
            and (site, area, line) == (self.name, found.area, found.line)
            and self.unit(asset, signal) is not None
        )
