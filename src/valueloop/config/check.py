"""Checks of a site description that span sections, each problem with the field path it is at.

Pydantic validates each section on its own; these checks follow the references between them: a
connector mapping to an asset or signal that does not exist, a unit that does not convert to the
type's, a binding on a signal its type lacks, an alarm on an unknown binding, a rule naming an
unknown alarm. :func:`site_problems` lists them all (``valueloop validate`` prints them with their
lines); :func:`prepare_site` raises on any and folds unit conversions into the mappings.

Analytic kinds are checked through a :class:`KindCatalogue` handed in by the caller (the analytics
layer provides it), so that this module does not import analytics.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Protocol

from valueloop.config.site import AssetSpec, SiteConfig
from valueloop.config.types import AlarmSpec, AssetType, BindingSpec
from valueloop.config.units import check_unit, fold
from valueloop.config.value import value_problems
from valueloop.config.yamlio import Location, Problem
from valueloop.connectors.spec import ConnectorSpec, FieldConnectorSpec, PointMap
from valueloop.errors import ConfigError
from valueloop.plugins import entry_points


class KindCatalogue(Protocol):
    """What the site check needs to know of analytic kinds."""

    def outputs(self, kind: str) -> tuple[str, ...]:
        """The derived outputs a binding of ``kind`` writes; ConfigError if unknown."""
        ...

    def role(self, kind: str) -> str:
        """'detector', 'expected_value' or 'forecaster'."""
        ...

    def check_params(
        self, kind: str, params: dict[str, object], signals: list[str] | None = None
    ) -> None:
        """ConfigError naming a hyper-parameter ``kind`` does not take (for a detector, given
        the names of the signals it reads)."""
        ...


def _registered(group: str) -> set[str]:
    return {entry.name for entry in entry_points(group=group)}


def asset_index(config: SiteConfig) -> tuple[dict[str, tuple[str, int]], list[Problem]]:
    """Each asset name's path and the index of its entry; a repeated name is a problem."""
    found: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for index, spec in enumerate(config.assets):
        for path in spec.expand():
            name = path.rsplit("/", 1)[1]
            if name in found:
                problems.append(
                    (("assets", index, "path"), f"asset name {name!r} is declared twice")
                )
            found[name] = (path, index)
    return found, problems


def derived_names(kind_type: AssetType, kinds: KindCatalogue | None) -> dict[str, str]:
    """The derived series of a type's bindings (``health_score``), with their binding."""
    if kinds is None:
        return {}
    names: dict[str, str] = {}
    for binding in kind_type.analytics:
        try:
            outputs = kinds.outputs(binding.kind)
        except ConfigError:
            continue
        names.update({f"{binding.name}_{output}": binding.name for output in outputs})
    return names


def _mappings(spec: ConnectorSpec) -> Iterator[tuple[str, int, PointMap]]:
    for field in ("points", "setpoints"):
        for index, mapping in enumerate(getattr(spec, field, None) or []):
            if isinstance(mapping, PointMap):
                yield field, index, mapping


def _units_of(kind: AssetType, field: str) -> dict[str, str]:
    """The units of what a mapping list may name: set-points for ``setpoints``, and signals or
    set-points (reading a set-point's current value) for ``points``."""
    units = {name: spec.unit for name, spec in kind.setpoints.items()}
    if field != "setpoints":
        units.update({name: spec.unit for name, spec in kind.signals.items()})
    return units


def _unit_problem(where: Location, source: str, target: str) -> Problem | None:
    try:
        fold(1.0, 0.0, source, target)
    except ConfigError as err:
        return where, str(err)
    return None


def _connector_problems(
    config: SiteConfig, assets: dict[str, tuple[str, int]]
) -> Iterator[Problem]:
    types = config.asset_types
    for c_index, spec in enumerate(config.connectors):
        if not isinstance(spec, FieldConnectorSpec):
            continue
        site_name, area_line = spec.prefix.split("/", 1)
        if site_name != config.site.name:
            yield (
                ("connectors", c_index, "prefix"),
                f"prefix {spec.prefix!r} must start with the site name {config.site.name!r}",
            )
            continue
        for field, m_index, mapping in _mappings(spec):
            where: Location = ("connectors", c_index, field, m_index)
            asset, signal = mapping.series.split("/", 1)
            if "{" in asset:
                continue
            if asset not in assets:
                yield (*where, "series"), f"asset {asset!r} is not in assets"
                continue
            path, a_index = assets[asset]
            if not path.startswith(area_line + "/"):
                yield (
                    (*where, "series"),
                    f"asset {asset!r} is at {path!r}, not under the prefix {spec.prefix!r}",
                )
                continue
            kind = types.get(config.assets[a_index].type)
            if kind is None or "{" in signal:
                continue
            table = _units_of(kind, field)
            if signal not in table:
                what = "set-point" if field == "setpoints" else "signal"
                known = ", ".join(sorted(table)) or "none"
                yield (
                    (*where, "series"),
                    f"{config.assets[a_index].type} has no {what} {signal!r} (it has: {known})",
                )
                continue
            if mapping.unit:
                problem = _unit_problem((*where, "unit"), mapping.unit, table[signal])
                if problem is not None:
                    yield problem


def _binding_problems(
    type_name: str, kind_type: AssetType, kinds: KindCatalogue | None
) -> Iterator[Problem]:
    available = set(kind_type.signals)
    for b_index, binding in enumerate(kind_type.analytics):
        where: Location = ("asset_types", type_name, "analytics", b_index)
        for field in ("signals", "inputs"):
            for s_index, signal in enumerate(getattr(binding, field)):
                if signal not in available:
                    yield (
                        (*where, field, s_index),
                        f"{type_name} has no signal {signal!r} for binding {binding.name!r}",
                    )
        if binding.target is not None and binding.target not in available:
            yield (*where, "target"), f"{type_name} has no signal {binding.target!r}"
        if kinds is not None:
            yield from _kind_problems(where, binding, kinds)
            with suppress(ConfigError):
                available |= {f"{binding.name}_{out}" for out in kinds.outputs(binding.kind)}


def _kind_problems(
    where: Location, binding: BindingSpec, kinds: KindCatalogue
) -> Iterator[Problem]:
    try:
        role = kinds.role(binding.kind)
        signals = binding.signals if role == "detector" else None
        kinds.check_params(binding.kind, binding.params, signals)
    except ConfigError as err:
        yield (*where, "kind"), str(err)
        return
    if role == "detector" and not binding.signals:
        yield (*where, "signals"), "a detector reads at least one signal"
    if role != "detector" and binding.target is None:
        yield (*where, "target"), f"a {role} binding names its target signal"
    if role == "expected_value" and not binding.inputs:
        yield (*where, "inputs"), "an expected-value model needs at least one input signal"
    if role == "forecaster" and binding.horizon is None:
        yield (*where, "horizon"), "a forecaster needs a horizon"


def _alarm_problems(
    where: Location,
    alarm: AlarmSpec,
    kind_type: AssetType,
    type_name: str,
    kinds: KindCatalogue | None,
) -> Iterator[Problem]:
    signals = set(kind_type.signals) | set(derived_names(kind_type, kinds))
    if kinds is None:  # the outputs of a kind are unknown here: any ``<binding>_...`` may be one
        prefixes = tuple(f"{binding.name}_" for binding in kind_type.analytics)
        signals |= {alarm.signal} if alarm.signal and alarm.signal.startswith(prefixes) else set()
    if alarm.signal is not None and alarm.signal not in signals:
        yield (*where, "signal"), f"{type_name} has no signal {alarm.signal!r}"
    if alarm.analytics is not None:
        bindings = {binding.name: binding for binding in kind_type.analytics}
        binding = bindings.get(alarm.analytics)
        if binding is None:
            known = ", ".join(sorted(bindings)) or "none"
            yield (*where, "analytics"), f"{type_name} has no binding {alarm.analytics!r} ({known})"
        elif kinds is not None and _role(kinds, binding.kind) not in ("detector", None):
            yield (*where, "analytics"), f"{alarm.analytics!r} is not a detector; alarm its series"
    if alarm.stale is not None:
        for s_index, signal in enumerate(alarm.stale.signals):
            if signal not in kind_type.signals:
                yield (*where, "stale", "signals", s_index), f"{type_name} has no signal {signal!r}"
            elif alarm.stale.expected_interval is None and (
                kind_type.signals[signal].expected_interval is None
            ):
                yield (
                    (*where, "stale", "signals", s_index),
                    f"signal {signal!r} has no expected_interval; give one here or on the signal",
                )


def _role(kinds: KindCatalogue, kind: str) -> str | None:
    try:
        return kinds.role(kind)
    except ConfigError:
        return None


def _type_problems(config: SiteConfig, kinds: KindCatalogue | None) -> Iterator[Problem]:
    for type_name, kind_type in config.asset_types.items():
        base: Location = ("asset_types", type_name)
        for group in ("signals", "setpoints", "attributes"):
            for name, spec in getattr(kind_type, group).items():
                try:
                    check_unit(spec.unit)
                except ConfigError as err:
                    yield (*base, group, name, "unit"), str(err)
        for name, setpoint in kind_type.setpoints.items():
            if setpoint.signal is not None and setpoint.signal not in kind_type.signals:
                yield (
                    (*base, "setpoints", name, "signal"),
                    f"{type_name} has no signal {setpoint.signal!r}",
                )
        yield from _binding_problems(type_name, kind_type, kinds)
        for a_index, alarm in enumerate(kind_type.alarms):
            where: Location = (*base, "alarms", a_index)
            if alarm.assets is not None:
                yield (*where, "assets"), "an asset type's alarm applies to all its assets"
            yield from _alarm_problems(where, alarm, kind_type, type_name, kinds)


def _asset_problems(config: SiteConfig) -> Iterator[Problem]:
    for index, spec in enumerate(config.assets):
        kind_type = config.asset_types.get(spec.type)
        if kind_type is None:
            known = ", ".join(sorted(config.asset_types)) or "none"
            yield ("assets", index, "type"), f"unknown asset type {spec.type!r} (declared: {known})"
            continue
        for name in spec.attributes:
            if name not in kind_type.attributes:
                yield (
                    ("assets", index, "attributes", name),
                    f"{spec.type} has no attribute {name!r}",
                )


def _site_alarm_problems(
    config: SiteConfig, assets: dict[str, tuple[str, int]], kinds: KindCatalogue | None
) -> Iterator[Problem]:
    for a_index, alarm in enumerate(config.alarms):
        where: Location = ("alarms", a_index)
        if not alarm.assets:
            yield (*where, "assets"), "a site-level alarm names the assets it applies to"
            continue
        for n_index, name in enumerate(alarm.assets):
            if name not in assets:
                yield (*where, "assets", n_index), f"asset {name!r} is not in assets"
                continue
            spec: AssetSpec = config.assets[assets[name][1]]
            kind_type = config.asset_types.get(spec.type)
            if kind_type is not None:
                yield from _alarm_problems(where, alarm, kind_type, spec.type, kinds)


def alarm_names(config: SiteConfig) -> set[str]:
    """Every alarm name of the site: its types' and its own."""
    names = {alarm.name for kind_type in config.asset_types.values() for alarm in kind_type.alarms}
    return names | {alarm.name for alarm in config.alarms}


def _decision_problems(config: SiteConfig, kinds: KindCatalogue | None) -> Iterator[Problem]:
    alarms = alarm_names(config)
    for r_index, rule in enumerate(config.decisions.rules):
        where: Location = ("decisions", "rules", r_index)
        types = rule.types if rule.types is not None else list(config.asset_types)
        for t_index, name in enumerate(rule.types or []):
            if name not in config.asset_types:
                yield (*where, "types", t_index), f"unknown asset type {name!r}"
        if rule.when.alarm is not None and rule.when.alarm not in alarms:
            known = ", ".join(sorted(alarms)) or "none"
            yield (*where, "when", "alarm"), f"no alarm is named {rule.when.alarm!r} ({known})"
        if rule.when.forecast is not None:
            bindings = {
                binding.name: binding
                for name in types
                if name in config.asset_types
                for binding in config.asset_types[name].analytics
            }
            binding = bindings.get(rule.when.forecast)
            if binding is None or (
                kinds is not None and _role(kinds, binding.kind) != "forecaster"
            ):
                yield (*where, "when", "forecast"), f"no forecaster binding {rule.when.forecast!r}"
        setpoint = rule.propose.setpoint
        if setpoint is not None and not any(
            setpoint in config.asset_types[name].setpoints
            for name in types
            if name in config.asset_types
        ):
            yield (*where, "propose", "setpoint"), f"no asset type has a set-point {setpoint!r}"
    optimizers = _registered("valueloop.optimizers")
    for p_index, planner in enumerate(config.decisions.planners):
        if planner.by is not None and planner.by not in config.packs:
            yield (
                ("decisions", "planners", p_index, "by"),
                f"{planner.by!r} is not one of the site's packs ({', '.join(config.packs)})",
            )
        if planner.kind not in optimizers:
            installed = ", ".join(sorted(optimizers))
            yield (
                ("decisions", "planners", p_index, "kind"),
                f"unknown planner kind {planner.kind!r}; installed: {installed}",
            )


def _other_problems(config: SiteConfig) -> Iterator[Problem]:
    for name, tariff in config.tariffs.items():
        currency = tariff.unit.split("/", 1)[0]
        if currency != config.site.currency:
            yield (
                ("tariffs", name, "unit"),
                f"tariff in {currency}, but the site's currency is {config.site.currency}",
            )
    packs = _registered("valueloop.packs")
    for index, pack in enumerate(config.packs):
        if pack not in packs:
            yield ("packs", index), f"unknown pack {pack!r}; installed: {', '.join(sorted(packs))}"


def site_problems(config: SiteConfig, kinds: KindCatalogue | None = None) -> list[Problem]:
    """Every cross-section problem of ``config``, with the field path of each."""
    assets, problems = asset_index(config)
    problems.extend(_asset_problems(config))
    problems.extend(_type_problems(config, kinds))
    problems.extend(_connector_problems(config, assets))
    problems.extend(_site_alarm_problems(config, assets, kinds))
    problems.extend(_decision_problems(config, kinds))
    problems.extend(_other_problems(config))
    kinds_of = {name: config.assets[index].type for name, (_, index) in assets.items()}
    problems.extend(value_problems(config.value, kinds_of, config.asset_types, config.tariffs))
    return problems


def _converted(
    config: SiteConfig, spec: ConnectorSpec, assets: dict[str, tuple[str, int]]
) -> ConnectorSpec:
    """``spec`` with every mapping in its type's unit, the conversion folded into scale/offset."""
    updates: dict[str, list[PointMap]] = {}
    for field in ("points", "setpoints"):
        mappings: Sequence[PointMap] = getattr(spec, field, None) or []
        if not mappings:
            continue
        converted = []
        for mapping in mappings:
            asset, signal = mapping.series.split("/", 1)
            unit = None
            if asset in assets:
                kind_type = config.asset_types.get(config.assets[assets[asset][1]].type)
                table = _units_of(kind_type, field) if kind_type else {}
                unit = table.get(signal)
            if unit is None or mapping.unit == unit:
                converted.append(mapping)
                continue
            scale, offset = (
                fold(mapping.scale, mapping.offset, mapping.unit, unit)
                if mapping.unit
                else (mapping.scale, mapping.offset)
            )
            converted.append(
                mapping.model_copy(update={"unit": unit, "scale": scale, "offset": offset})
            )
        updates[field] = converted
    return spec.model_copy(update=updates) if updates else spec


def prepare_site(config: SiteConfig, kinds: KindCatalogue | None = None) -> SiteConfig:
    """``config`` checked (ConfigError listing every problem) with units folded into mappings."""
    problems = site_problems(config, kinds)
    if problems:
        lines = [
            f"{'.'.join(str(part) for part in where) or '(top level)'}: {message}"
            for where, message in problems
        ]
        raise ConfigError("invalid site configuration:\n  " + "\n  ".join(lines))
    assets, _ = asset_index(config)
    connectors = [_converted(config, spec, assets) for spec in config.connectors]
    return config.model_copy(update={"connectors": connectors})
