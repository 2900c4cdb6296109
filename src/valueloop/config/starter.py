"""A commented starter ``site.yaml``, as ``valueloop init`` writes it.

Every section of the file is present, with a comment saying what it is, and the whole validates
as written (:func:`valueloop.config.load_site`): an example asset type with signals, a set-point,
an attribute, a detector, limit, anomaly and stale-data alarms and costs; assets of the type; one
commented connector example per connector kind; a decision rule, the approval policy, a tariff
and the store.

Given the variables browsed on an OPC UA server (:class:`OpcUaImport`), the asset types, assets and
an ``opcua`` connector are filled from them instead: one asset per object holding numeric
variables, one asset type per distinct set of signals, the server's engineering units where pint
reads them.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

import yaml

from valueloop.config.types import NAME
from valueloop.config.units import check_unit
from valueloop.errors import ConfigError

AREA_LINE = "main/line-1"
"""Where imported assets are put (``area/line``), for the operator to move them."""


@dataclass(frozen=True)
class OpcUaImport:
    """The numeric variables of an OPC UA server, as ``points_from_browse`` maps them.

    ``points`` and ``setpoints`` are its mapping entries (``node``, ``series`` as
    ``object/variable`` in snake case, ``unit`` when the server gives one; set-points also
    ``data_type``).
    """

    endpoint: str
    points: Sequence[dict[str, Any]]
    setpoints: Sequence[dict[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class _ImportedType:
    name: str
    signals: dict[str, str]
    """Signal name to unit ('' when the server gives none pint reads)."""
    server_units: dict[str, str]
    """Units the server gave that pint does not read, by signal."""
    writable: list[str]
    """Writable variables, as ``signal (node, data type)``."""


def _flow(value: Any) -> str:
    """``value`` as one line of YAML (a flow mapping or list, or a scalar)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n...\n").strip()


def _block(entry: dict[str, Any], indent: str) -> list[str]:
    """A list entry in block style: its lists of mappings one flow mapping a line, and its
    mappings too long for one line one key a line."""
    lines: list[str] = []
    for number, (key, value) in enumerate(entry.items()):
        lead = f"{indent}- " if number == 0 else f"{indent}  "
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{lead}{key}:")
            lines.extend(f"{indent}    - {_flow(item)}" for item in value)
        elif isinstance(value, dict) and len(_flow(value)) > 60:
            lines.append(f"{lead}{key}:")
            lines.extend(f"{indent}    {name}: {_flow(item)}" for name, item in value.items())
        else:
            lines.append(f"{lead}{key}: {_flow(value)}")
    return lines


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, 98 - len(indent), initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# "
    )


def connector_examples(
    prefix: str, series: str, *, unit: str = "", setpoint: str | None = None
) -> dict[str, dict[str, Any]]:
    """One connector entry per kind, reading ``series`` (``asset/signal``, in ``unit`` when given)
    under ``prefix``; the OPC UA one also writes the set-point series ``setpoint``."""
    units = {"unit": unit} if unit else {}
    node = "ns=2;s=" + series.replace("/", ".")
    opcua: dict[str, Any] = {
        "name": "line-1-opcua",
        "kind": "opcua",
        "endpoint": "opc.tcp://plc-1.example:4840",
        "prefix": prefix,
        "points": [{"node": node, "series": series, **units}],
    }
    if setpoint is not None:
        target = "ns=2;s=" + setpoint.replace("/", ".")
        opcua["setpoints"] = [{"node": target, "series": setpoint, "data_type": "Double"}]
    return {
        "opcua": opcua,
        "mqtt": {
            "name": "line-1-mqtt",
            "kind": "mqtt",
            "host": "broker.example",
            "port": 1883,
            "prefix": prefix,
            "points": [{"topic": "plant/line-1/{asset}/{signal}", "series": "{asset}/{signal}"}],
        },
        "sparkplug": {
            "name": "line-1-sparkplug",
            "kind": "sparkplug",
            "host": "broker.example",
            "groups": ["line1"],
            "prefix": prefix,
            "points": [{"metric": "line1/+/{device}/{metric}", "series": "{device}/{metric}"}],
        },
        "modbus": {
            "name": "line-1-meter",
            "kind": "modbus",
            "host": "192.0.2.10",
            "unit_id": 1,
            "prefix": prefix,
            "points": [
                {"table": "holding", "address": 0, "data_type": "float32", "series": series} | units
            ],
        },
    }


_EXAMPLE_NOTES = {
    "opcua": "OPC UA: a node id (ns=2;s=...) or browse path per series (valueloop connect browse)",
    "mqtt": "MQTT JSON: topic levels captured into the series",
    "sparkplug": "Sparkplug B: metrics of edge nodes of the groups",
    "modbus": "Modbus TCP: registers polled from a device",
}


def _commented_examples(examples: dict[str, dict[str, Any]], skip: str = "") -> list[str]:
    lines: list[str] = []
    for kind, entry in examples.items():
        if kind == skip:
            continue
        lines.append(f"  # {_EXAMPLE_NOTES[kind]}:")
        lines.extend("  # " + line[2:] for line in _block(entry, "  "))
    return lines


HEAD = """\
# site.yaml: one site for valueloop, written by `valueloop init`.
# Check it with `valueloop validate site.yaml`. Every key is described in docs/site-reference.md,
# and `valueloop schema site` prints the file's JSON Schema for an editor to complete and check.
# A duration is written 90s, 30min, 12h or 1d; a unit as pint reads it (kW, mm/s, degC, bar).

# The site: its name is the first part of every series path (site/area/line/asset/signal).
site:
  name: $site
  enterprise: enterprise
  timezone: UTC          # an IANA zone name, e.g. Europe/Berlin
  currency: EUR          # of costs, tariffs and value

# Asset types: templates every asset of a type follows: the signals it measures, its set-points
# and attributes, the analytics run on it, its alarms and its costs.
asset_types:"""

PUMP_TYPE = """\
  pump:
    description: centrifugal pump
    # Measured signals and their units; expected_interval is how often a reading comes.
    signals:
      pressure: {unit: bar, description: outlet pressure, expected_interval: 10s}
      flow: {unit: m^3/h, expected_interval: 10s}
      power: {unit: kW, expected_interval: 10s}
      vibration: {unit: mm/s, description: bearing housing velocity, expected_interval: 10s}
    # Writable set-points with their limits: a change outside them is refused.
    setpoints:
      pressure_setpoint:
        unit: bar
        min: 2
        max: 8
        max_step: 0.5           # largest change from the current value in one write
        min_interval: 10min     # least time between two changes on one asset
        verify_within: 30s      # the field must read back the target within this
        signal: pressure
        # auto: {min: 4, max: 6, max_step: 0.2}   # approved automatically inside this band
        guards:                 # broken soon after a change, the change is rolled back
          - {signal: vibration, above: 11.0, within: 10min}
    # Static values of every asset of the type; an asset may set its own under assets.
    attributes:
      rated_power: {unit: kW, default: 55}
    # Analytics run for every asset of the type; a detector binding `health` writes the series
    # health_score (0..1), learnt on `fit.window` of data and refitted every `fit.every`.
    analytics:
      - name: health
        kind: pca_t2q
        signals: [pressure, flow, power, vibration]
        fit: {window: 7d, every: 7d}
        resample: 1min
        max_gap: 5min
        threshold: 0.99
    # Alarms: on a signal's limits, on a detector's score above its threshold, or on stale data.
    alarms:
      - name: high_vibration
        signal: vibration
        limits: {hi: 7.1, hihi: 11.0}
        priorities: {hihi: high}
        deadband: 0.2
        on_delay: 30s
      - name: anomaly
        analytics: health
      - name: no_data
        priority: low
        stale: {signals: [pressure, flow, power, vibration], intervals: 6}
    # What maintenance, a failure and downtime of one asset cost, in the site's currency.
    costs:
      planned_maintenance: 800
      failure: 12000
      downtime_per_hour: 400
      planned_downtime_hours: 4
      failure_downtime_hours: 24"""

ASSETS_HEAD = """\
# Assets: the ISA-95 tree area/line/asset, each of a declared type. An asset is known by its name
# (the last part of its path), unique in the site; one numeric range declares many assets."""

PUMP_ASSETS = """\
assets:
  - path: water/line-1/pump-01
    type: pump
  - path: water/line-1/pump-{02..03}
    type: pump
    attributes: {rated_power: 75}"""

CONNECTORS_HEAD = """\
# Connectors: how the signals are read from the field. Each maps source addresses to series
# (asset/signal) under its prefix (site/area/line); a mapping in another unit than the signal's
# (W for kW, degF for degC) is converted."""

SITE_ALARMS_HEAD = """\
# Site-level alarms: alarms on the assets they name only, beside those of the assets' types."""

TAIL = """\
# Decisions: rules turn alarms and forecasts into proposed work orders; planners (optimisers,
# such as `maintenance`) schedule them.
decisions:
  rules:
    - name: $rule
      when: {alarm: $alarm, unacknowledged_for: 2h}
      propose: {task: $task, within: 2d, failure_probability: 0.3}
      types: [$type]
  planners: []
  # - name: maintenance_plan
  #   kind: maintenance
  #   every: 1d
  #   horizon: 30d
  #   crew_per_day: 1

# Policy: who approves work orders (manual: `approvals` approvers, never the proposer;
# two_person: at least two; auto: a set-point change inside its `auto` band is approved by the
# policy itself), how long a proposal may wait once due, and an approval before it is executed.
# `kinds` sets another approval for maintenance tasks or set-point changes.
policy:
  approval: two_person
  approvals: 2
  approve_within: 7d
  execute_within: 1h
  kinds:
    maintenance: {approval: manual, approvals: 1}

# Maintenance: approved tasks go to the site's maintenance system as signed webhooks (the secret
# is read from the environment variable named by secret_env, never from this file); without a
# webhook they are handed to the crew and completed through the API or the CLI.
maintenance:
  webhook: null
  # webhook: {url: "https://cmms.example.com/hooks/valueloop", secret_env: CMMS_SECRET}

# Tariffs: prices in the site's currency per unit of a measured quantity.
tariffs:
  electricity: {price: 0.21, unit: EUR/kWh}

# Value: the windows in which executed actions are measured, the KPIs whose meters verify them
# (kWh per reading summed per day, regressors averaged) and savings contracts. For example:
#   kpis:
#     - {name: line_energy, asset: meter-01, signal: energy, tariff: electricity,
#        regressors: {temperature: {asset: meter-01, signal: outdoor_temperature}}}
#   contracts:
#     - {id: ESC-1, kind: shared_savings, provider: ESCO, client: Plant, kpis: [line_energy],
#        start: 2026-01-01, end: 2027-01-01, provider_share: 0.5}
value:
  measurement: {reference: 365d, reporting: 90d, min_reporting: 30d, confidence: 0.9}
  kpis: []
  contracts: []

# Store: where the series and the site's books are kept (a relative path is under the data
# directory).
store:
  url: duckdb:///valueloop.duckdb

# Packs: installed sector packs whose jobs run with this site, by name.
packs: []
"""


def _example_site(site: str) -> list[str]:
    prefix = f"{site}/water/line-1"
    return [
        PUMP_TYPE,
        "",
        ASSETS_HEAD,
        PUMP_ASSETS,
        "",
        CONNECTORS_HEAD,
        "# Replace [] by entries such as the examples below, one per connector kind.",
        "connectors: []",
        *_commented_examples(
            connector_examples(
                prefix, "pump-01/power", unit="W", setpoint="pump-01/pressure_setpoint"
            )
        ),
        "",
        SITE_ALARMS_HEAD,
        "alarms:",
        "  - {name: high_power, signal: power, limits: {hi: 60}, assets: [pump-01]}",
    ]


def _unique(name: str, taken: set[str]) -> str:
    found, number = name, 2
    while found in taken:
        found, number = f"{name}_{number}", number + 1
    taken.add(found)
    return found


def _type_base(asset: str) -> str:
    """``pump1`` and ``pump_2`` give ``pump``; a name without letters gives ``machine``."""
    base = re.sub(r"[\d_.-]+$", "", asset).replace("-", "_").replace(".", "_")
    return base if re.match(NAME, base) else "machine"


def _signal_unit(unit: str) -> str:
    try:
        check_unit(unit)
    except ConfigError:
        return ""
    return unit


def _named(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``points`` with signal names the asset model takes: ``_`` before one starting with a
    digit, ``_2``, ``_3`` after one its asset already has."""
    taken: dict[str, set[str]] = {}
    named = []
    for point in points:
        asset, signal = str(point["series"]).split("/", 1)
        signal = signal if re.match(NAME, signal) else f"_{signal}"
        named.append(
            {**point, "series": f"{asset}/{_unique(signal, taken.setdefault(asset, set()))}"}
        )
    return named


def _imported_types(opcua: OpcUaImport) -> tuple[list[_ImportedType], dict[str, str]]:
    """Asset types of the imported objects, and the type of each object (asset)."""
    data_types = {point["node"]: point["data_type"] for point in opcua.setpoints}
    signals: dict[str, dict[str, str]] = {}
    writable: dict[str, list[str]] = {}
    for point in opcua.points:
        asset, signal = str(point["series"]).split("/", 1)
        signals.setdefault(asset, {})[signal] = str(point.get("unit", ""))
        if point["node"] in data_types:
            entry = f"{signal} ({point['node']}, {data_types[point['node']]})"
            writable.setdefault(asset, []).append(entry)
    by_signals: dict[tuple[tuple[str, str], ...], _ImportedType] = {}
    taken: set[str] = set()
    type_of: dict[str, str] = {}
    for asset, units in signals.items():
        key = tuple(sorted(units.items()))
        if key not in by_signals:
            by_signals[key] = _ImportedType(
                _unique(_type_base(asset), taken),
                {signal: _signal_unit(unit) for signal, unit in units.items()},
                {signal: unit for signal, unit in units.items() if unit and not _signal_unit(unit)},
                writable.get(asset, []),
            )
        type_of[asset] = by_signals[key].name
    return list(by_signals.values()), type_of


def _imported_type_lines(kind: _ImportedType, endpoint: str) -> Iterator[str]:
    yield f"  {kind.name}:"
    yield f"    description: {_flow(f'imported from {endpoint}')}"
    yield "    # Measured signals and their units; expected_interval is how often a reading comes."
    yield "    signals:"
    for signal, unit in kind.signals.items():
        note = kind.server_units.get(signal)
        comment = f"  # the server's unit {note!r} is not one pint reads" if note else ""
        yield f"      {signal}: {_flow({'unit': unit})}{comment}"
    yield "    # Set-points: writable values with their limits; a change outside them is refused."
    if kind.writable:
        yield from _comment(
            f"Writable on the server: {'; '.join(kind.writable)}. To write one through approved "
            "work orders, declare it here under a name of its own with {unit, min, max, "
            "max_step} and map it in the connector's setpoints.",
            "    ",
        )
    yield "    setpoints: {}"
    yield "    attributes: {}"
    detector = "pca_t2q" if len(kind.signals) > 1 else "ewma_zscore"
    signals = list(kind.signals)
    yield "    # A detector binding `health` writes the series health_score (0..1)."
    yield "    analytics:"
    yield from _block(
        {
            "name": "health",
            "kind": detector,
            "signals": signals,
            "fit": {"window": "7d", "every": "7d"},
            "resample": "1min",
            "max_gap": "5min",
        },
        "      ",
    )
    yield "    # Alarms: on a signal's limits, a detector's score, or stale data."
    yield "    alarms:"
    yield "      - {name: anomaly, analytics: health}"
    yield "      # A signal that rarely changes is reported rarely: raise expected_interval for it."
    yield from _block(
        {
            "name": "no_data",
            "priority": "low",
            "stale": {"signals": signals, "intervals": 5, "expected_interval": "1min"},
        },
        "      ",
    )
    yield f"      # - {{name: high_{signals[0]}, signal: {signals[0]}, limits: {{hi: 1.0}}}}"
    yield "    # What maintenance, a failure and downtime of one asset cost, in the site currency."
    yield "    costs: {planned_maintenance: 0, failure: 0, downtime_per_hour: 0}"


def _imported_site(site: str, opcua: OpcUaImport) -> tuple[list[str], str]:
    """The types, assets and connectors sections from ``opcua``, and the first type's name."""
    if not opcua.points:
        raise ConfigError(f"{opcua.endpoint} has no numeric variables to import")
    opcua = OpcUaImport(opcua.endpoint, _named(opcua.points), opcua.setpoints)
    kinds, type_of = _imported_types(opcua)
    prefix = f"{site}/{AREA_LINE}"
    lines = [line for kind in kinds for line in _imported_type_lines(kind, opcua.endpoint)]
    lines += [
        "",
        ASSETS_HEAD,
        "# Move each asset to its area/line (a connector's prefix is one line).",
    ]
    lines.append("assets:")
    lines += [f"  - {{path: {AREA_LINE}/{asset}, type: {name}}}" for asset, name in type_of.items()]
    points = [
        {key: value for key, value in point.items() if key != "unit" or _signal_unit(str(value))}
        for point in opcua.points
    ]
    connector = {
        "name": "opcua",
        "kind": "opcua",
        "endpoint": opcua.endpoint,
        "prefix": prefix,
        "points": points,
    }
    examples = connector_examples(prefix, str(points[0]["series"]), unit=points[0].get("unit", ""))
    lines += ["", CONNECTORS_HEAD, "connectors:", *_block(connector, "  ")]
    lines += ["  # Examples of the other connector kinds:"]
    lines += _commented_examples(examples, skip="opcua")
    asset, signal = str(points[0]["series"]).split("/", 1)
    example = {"name": f"high_{signal}", "signal": signal, "limits": {"hi": 1.0}, "assets": [asset]}
    lines += ["", SITE_ALARMS_HEAD, "alarms: []", f"  # - {_flow(example)}"]
    return lines, kinds[0].name


def starter_site(site: str = "plant", *, opcua: OpcUaImport | None = None) -> str:
    """The text of a commented starter ``site.yaml`` for the site ``site``."""
    if opcua is None:
        body = _example_site(site)
        rule = {"rule": "inspect_on_vibration", "alarm": "high_vibration", "type": "pump"}
        task = "inspect bearings and alignment"
    else:
        body, type_name = _imported_site(site, opcua)
        rule = {"rule": "inspect_on_anomaly", "alarm": "anomaly", "type": type_name}
        task = "inspect the asset"
    head = Template(HEAD).substitute(site=_flow(site))
    tail = Template(TAIL).substitute(rule, task=_flow(task))
    return "\n".join([head, *body, "", tail])
