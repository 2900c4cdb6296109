"""Address templates: map many source addresses (MQTT topics, Sparkplug metrics) to series at once.

An address is a sequence of levels (an MQTT topic split at ``/``). A template level is

- a literal (``plant``): the address level must be equal,
- ``+``: any one level, not captured,
- ``{name}``: any one level, captured as ``name``,
- ``#`` (last level only): any number of remaining levels, not captured.

A series template such as ``{asset}/{signal}`` or ``pump-1/{signal}`` is then filled with the
captured levels, each first made a valid name by :func:`sanitise` (runs of characters other than
letters, digits and ``_`` become ``_``; an asset also keeps ``.`` and ``-``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from valueloop.model.paths import SERIES_PATTERN, series_path

PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_FIELD = r"\{[A-Za-z_][A-Za-z0-9_]*\}"
SERIES_TEMPLATE_PATTERN = rf"^(?:[A-Za-z0-9_.-]+|{_FIELD})+/(?:[A-Za-z0-9_]+|{_FIELD})+$"
"""An ``asset/signal`` pair where parts may be ``{placeholders}``."""

_SERIES = re.compile(SERIES_PATTERN)
_NOT_SIGNAL = re.compile(r"[^A-Za-z0-9_]+")
_NOT_ASSET = re.compile(r"[^A-Za-z0-9_.-]+")
_FIELDS = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def sanitise(text: str, *, asset: bool = False) -> str:
    """``text`` made a valid signal name (or asset name with ``asset=True``).

    Runs of other characters become ``_`` and leading or trailing ``_`` are dropped:
    ``"Outlet Pressure"`` gives ``Outlet_Pressure``, ``"Motor/Speed (rpm)"`` gives
    ``Motor_Speed_rpm``.
    """
    return (_NOT_ASSET if asset else _NOT_SIGNAL).sub("_", text).strip("_")


@dataclass(frozen=True)
class LevelTemplate:
    """A parsed address template; see the module docstring for its levels."""

    levels: tuple[str, ...]

    @classmethod
    def parse(cls, levels: Sequence[str]) -> LevelTemplate:
        """Parse template levels; ``#`` is allowed only as the last level."""
        if "#" in levels[:-1]:
            raise ValueError("'#' may only be the last level")
        for level in levels:
            if ("{" in level or "}" in level) and not PLACEHOLDER.match(level):
                raise ValueError(
                    f"level {level!r}: a placeholder fills a whole level, e.g. {{asset}}"
                )
            if level not in ("+", "#") and ("+" in level or "#" in level):
                raise ValueError(f"level {level!r}: '+' and '#' stand alone in a level")
        return cls(tuple(levels))

    @property
    def names(self) -> tuple[str, ...]:
        """The captured placeholder names, in order."""
        return tuple(m.group(1) for level in self.levels if (m := PLACEHOLDER.match(level)))

    def mqtt_filter(self) -> str:
        """The MQTT subscription filter: placeholders become ``+``."""
        return "/".join("+" if PLACEHOLDER.match(level) else level for level in self.levels)

    def match(self, address: Sequence[str]) -> dict[str, str] | None:
        """The captured levels if ``address`` matches, else None."""
        captures: dict[str, str] = {}
        for index, level in enumerate(self.levels):
            if level == "#":
                return captures
            if index >= len(address):
                return None
            placeholder = PLACEHOLDER.match(level)
            if placeholder is not None:
                captures[placeholder.group(1)] = address[index]
            elif level != "+" and level != address[index]:
                return None
        return captures if len(address) == len(self.levels) else None


def template_fields(series_template: str) -> tuple[str, ...]:
    """The placeholder names a series template uses."""
    return tuple(_FIELDS.findall(series_template))


def fill_series(series_template: str, captures: Mapping[str, str]) -> str:
    """Fill ``series_template`` (``asset/signal`` with placeholders) from ``captures``.

    Placeholders in the asset part are sanitised as asset names, those in the signal part as
    signal names. Raises ``ValueError`` naming the problem when the result is no ``asset/signal``.
    """
    asset, signal = series_template.split("/", 1)

    def fill(part: str, *, asset: bool) -> str:
        return _FIELDS.sub(lambda m: sanitise(captures[m.group(1)], asset=asset), part)

    try:
        series = f"{fill(asset, asset=True)}/{fill(signal, asset=False)}"
    except KeyError as err:
        raise ValueError(f"the template captures no {err.args[0]!r}") from err
    if not _SERIES.match(series):
        raise ValueError(f"gives series {series!r}, which is not a valid asset/signal")
    return series


class TemplatedMap(Protocol):
    """A point mapping whose ``series`` may hold placeholders."""

    @property
    def series(self) -> str: ...

    @property
    def concrete(self) -> bool: ...


Map = TypeVar("Map", bound=TemplatedMap)


def templated_mappings(
    prefix: str, points: Sequence[Map], discovered: Mapping[str, Map]
) -> list[tuple[str, Map]]:
    """Full paths and mappings: the concrete ``points``, then the series templated ones named."""
    found = [*(point for point in points if point.concrete), *discovered.values()]
    return [(series_path(prefix, point.series), point) for point in found]
