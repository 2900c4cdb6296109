"""Engineering units: checked when a site is read, converted on ingest (pint).

A signal's unit is declared once, on its asset type. A connector mapping may read the field in
another unit (a meter reporting W for a signal kept in kW, a sensor in degF for a signal in degC):
the mapping's unit must then be convertible to the type's, and the conversion (linear, or affine
for temperatures) is folded into the mapping's ``scale`` and ``offset``, so that the connectors
store every value in the type's unit without knowing about units.

Units are written as pint parses them (``kW``, ``mm/s``, ``degC``, ``bar``, ``m^3/h``, ``rpm``,
``percent``); an empty unit means dimensionless. pint is imported on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from valueloop.errors import ConfigError

_ALIASES = {"%": "percent", "m3/h": "m^3/h", "degR": "degR"}


@cache
def _registry() -> Any:
    import pint

    registry: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    registry.define("pps = pound / second")
    return registry


def _parse(unit: str) -> Any:
    text = _ALIASES.get(unit.strip(), unit.strip())
    registry = _registry()
    if not text:
        return registry.dimensionless
    try:
        return registry.Unit(text)
    except Exception as err:  # pint raises several kinds of errors for text it cannot read
        raise ConfigError(
            f"unknown unit {unit!r} (write it as pint reads it: kW, mm/s, degC)"
        ) from err


def check_unit(unit: str) -> None:
    """Raise ConfigError if ``unit`` is not a unit pint knows."""
    _parse(unit)


def conversion(source: str, target: str) -> tuple[float, float]:
    """``(scale, offset)`` such that ``value_in_target = value_in_source * scale + offset``.

    Raises ConfigError naming both units when they measure different quantities.
    """
    if source.strip() == target.strip():
        return 1.0, 0.0
    from_unit, to_unit = _parse(source), _parse(target)
    registry = _registry()
    try:
        zero = registry.Quantity(0.0, from_unit).to(to_unit).magnitude
        one = registry.Quantity(1.0, from_unit).to(to_unit).magnitude
    except Exception as err:  # DimensionalityError, OffsetUnitCalculusError
        raise ConfigError(
            f"unit {source!r} cannot be converted to {target!r}: they measure different things"
        ) from err
    return float(one - zero), float(zero)


def fold(scale: float, offset: float, source: str, target: str) -> tuple[float, float]:
    """A mapping's ``(scale, offset)`` into ``source``, then converted to ``target``."""
    factor, shift = conversion(source, target)
    return scale * factor, offset * factor + shift
