"""The baseline kinds installed, found by entry point (group ``valueloop.baselines``).

A kind is a :class:`~valueloop.value.baselines.base.Baseline` subclass registered under a name,
so a third party adds one without editing the core; :func:`baseline_kinds` imports them all,
:func:`baseline_class` one.
"""

from __future__ import annotations

from valueloop.errors import ConfigError
from valueloop.plugins import entry_points
from valueloop.value.baselines.base import Baseline

BASELINES = "valueloop.baselines"


def installed_baselines() -> tuple[str, ...]:
    """The installed kind names, sorted (nothing is imported)."""
    return tuple(sorted(entry.name for entry in entry_points(group=BASELINES)))


def baseline_class(kind: str) -> type[Baseline]:
    """The class registered under ``kind``; :class:`ConfigError` naming the installed ones."""
    for entry in entry_points(group=BASELINES, name=kind):
        try:
            loaded = entry.load()
        except ImportError as err:
            raise ConfigError(
                f"baseline kind {kind!r} is registered as {entry.value} but cannot be imported: "
                f"{err}"
            ) from err
        if isinstance(loaded, type) and issubclass(loaded, Baseline):
            return loaded
        raise ConfigError(f"baseline kind {kind!r} ({entry.value}) is not a Baseline class")
    raise ConfigError(
        f"unknown baseline kind {kind!r}; installed: {', '.join(installed_baselines()) or 'none'}"
    )


def baseline_kinds() -> dict[str, type[Baseline]]:
    """Every installed baseline class, by kind name."""
    return {kind: baseline_class(kind) for kind in installed_baselines()}
