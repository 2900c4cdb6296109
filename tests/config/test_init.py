"""``valueloop init``: a commented starter site.yaml that validates, from nothing or from a real
OPC UA server process."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from tests.connectors.opcua_pump import endpoint
from tests.connectors.peers import PeerProcess, need_package
from typer.testing import CliRunner

from valueloop.analytics.catalogue import KINDS
from valueloop.cli.app import app
from valueloop.config import SiteConfig, load_site, parse_site
from valueloop.config.starter import OpcUaImport, starter_site
from valueloop.connectors.opcua.spec import OpcUaSpec
from valueloop.errors import ConfigError
from valueloop.model.site import SiteModel

runner = CliRunner()


def _init(*args: str) -> str:
    result = runner.invoke(app, ["init", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_starter_validates_as_written_with_every_section() -> None:
    text = starter_site("plant")
    config = parse_site(text, kinds=KINDS)
    assert config.site.name == "plant"
    pump = config.asset_types["pump"]
    assert pump.signals and pump.setpoints and pump.attributes and pump.costs.failure > 0
    assert [binding.kind for binding in pump.analytics] == ["pca_t2q"]
    alarms = {alarm.name: alarm for alarm in pump.alarms}
    assert alarms["high_vibration"].limits is not None
    assert alarms["no_data"].stale is not None
    assert alarms["anomaly"].analytics == "health"
    assert [asset.name for asset in SiteModel(config).assets.values()] == [
        "pump-01",
        "pump-02",
        "pump-03",
    ]
    assert config.decisions.rules and config.tariffs["electricity"].price == 0.21
    assert config.alarms[0].assets == ["pump-01"]
    keys = [line.split(":", 1)[0] for line in text.splitlines() if line[:1].isalpha()]
    assert keys == list(SiteConfig.model_fields)
    for number, line in enumerate(text.splitlines()):
        if line[:1].isalpha():
            assert text.splitlines()[number - 1].startswith("#"), f"{line}: no comment above it"


def _commented_connectors(text: str) -> list[str]:
    """The commented connector entries of the connectors section, uncommented."""
    section = text.split("\nconnectors:", 1)[1].split("\n# Site-level alarms", 1)[0]
    entries: list[list[str]] = []
    for line in section.splitlines():
        if line.startswith("  # - "):
            entries.append([line.replace("  # ", "  ", 1)])
        elif line.startswith("  #   ") and entries:
            entries[-1].append(line.replace("  # ", "  ", 1))
    return ["\n".join(entry) for entry in entries]


@pytest.mark.parametrize("site", ["plant", "works-2"])
def test_each_commented_connector_example_validates_once_uncommented(site: str) -> None:
    text = starter_site(site)
    entries = _commented_connectors(text)
    kinds = {yaml.safe_load(entry)[0]["kind"] for entry in entries}
    assert kinds == {"opcua", "mqtt", "modbus", "sparkplug"}
    for entry in entries:
        config = parse_site(text.replace("connectors: []", "connectors:\n" + entry), kinds=KINDS)
        (connector,) = config.connectors
        assert connector.prefix == f"{site}/water/line-1"  # type: ignore[attr-defined]
    opcua = next(entry for entry in entries if "kind: opcua" in entry)
    config = parse_site(text.replace("connectors: []", "connectors:\n" + opcua))
    (point,) = config.connectors[0].points  # type: ignore[attr-defined]
    assert (point.unit, point.scale) == ("kW", pytest.approx(0.001))  # read in W, kept in kW


def test_init_writes_a_private_file_that_validates(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    output = _init(str(path), "--site", "works-2")
    assert _mode(path) == 0o600
    assert load_site(path, kinds=KINDS).site.name == "works-2"
    assert "1 asset types, 3 assets, 0 connectors" in output


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("site: {name: mine}\n", encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="exists; pass --force to overwrite it"):
        _init(str(path))
    assert path.read_text(encoding="utf-8") == "site: {name: mine}\n"
    _init(str(path), "--force")
    assert load_site(path).site.name == "plant"
    assert _mode(path) == 0o600
    assert [item.name for item in tmp_path.iterdir()] == ["site.yaml"]


def test_init_refuses_a_site_name_that_cannot_start_a_series_path(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    with pytest.raises(ConfigError, match=r"line 8: site\.name: String should match pattern"):
        _init(str(path), "--site", "my plant")
    assert not path.exists()


@pytest.fixture(scope="module")
def pump() -> Iterator[int]:
    """A real asyncua server process simulating a pump; yields its port."""
    need_package("asyncua")
    with PeerProcess("opcua_pump.py") as peer:
        yield peer.port


def _numeric_variables(port: int) -> pa.Table:
    from valueloop.connectors.opcua.browse import NUMERIC_TYPES, browse

    table = asyncio.run(browse(endpoint(port)))
    rows = [
        row
        for row in table.to_pylist()
        if row["node_class"] == "Variable" and row["data_type"] in NUMERIC_TYPES
    ]
    return pa.Table.from_pylist(rows, schema=table.schema)


def test_init_from_opcua_maps_every_browsed_variable(tmp_path: Path, pump: int) -> None:
    path = tmp_path / "site.yaml"
    output = _init(str(path), "--from-opcua", endpoint(pump), "--site", "waterworks")
    assert "1 asset types, 1 assets, 1 connectors" in output
    assert _mode(path) == 0o600
    config = load_site(path, kinds=KINDS)
    (connector,) = config.connectors
    assert isinstance(connector, OpcUaSpec)
    assert connector.endpoint == endpoint(pump)
    assert connector.prefix == "waterworks/main/line-1"
    browsed = _numeric_variables(pump)
    assert sorted(point.node for point in connector.points) == sorted(
        browsed.column("browse_path").to_pylist()
    )
    assert "/0:Objects/2:Pump1/2:Mode" not in {point.node for point in connector.points}  # a String
    model = SiteModel(config)
    assert list(model.assets) == ["pump1"]
    assert all(model.knows(connector.path(point)) for point in connector.points)
    units = {point.series: point.unit for point in connector.points}
    assert units["pump1/pressure"] == "bar"
    assert units["pump1/flow"] == "m3/h"
    assert units["pump1/speed"] == "rpm"
    machine = config.asset_types[model.assets["pump1"].type_name]
    assert machine.signals["pressure"].unit == "bar"
    assert machine.signals["run_seconds"].unit == ""
    assert [binding.kind for binding in machine.analytics] == ["pca_t2q"]
    text = path.read_text(encoding="utf-8")
    assert "Writable on the server: setpoint (/0:Objects/2:Pump1/2:Setpoint, Double)" in text
    for entry in _commented_connectors(text):
        parse_site(text.replace("connectors:\n", "connectors:\n" + entry + "\n", 1), kinds=KINDS)


def test_imported_objects_become_assets_of_one_type_per_set_of_signals() -> None:
    points = [
        {"node": "ns=2;s=Pump1.Pressure", "series": "pump1/pressure", "unit": "bar"},
        {"node": "ns=2;s=Pump1.Volume", "series": "pump1/volume", "unit": "m3"},
        {"node": "ns=2;s=Pump2.Pressure", "series": "pump2/pressure", "unit": "bar"},
        {"node": "ns=2;s=Pump2.Volume", "series": "pump2/volume", "unit": "m3"},
        {"node": "ns=2;s=Pump3.Pressure", "series": "pump3/pressure", "unit": "bar"},
        {"node": "ns=2;s=Pump3.2ndStage", "series": "pump3/2nd_stage"},
        {"node": "ns=2;s=Pump3.Pressure_", "series": "pump3/pressure"},
        {"node": "ns=2;s=Tank.Level", "series": "tank/level", "unit": "%"},
    ]
    setpoints = [
        {"node": "ns=2;s=Pump1.Pressure", "series": "pump1/pressure", "data_type": "Float"}
    ]
    text = starter_site("site-a", opcua=OpcUaImport("opc.tcp://plc:4840", points, setpoints))
    config = parse_site(text, kinds=KINDS)
    model = SiteModel(config)
    assert {name: asset.type_name for name, asset in model.assets.items()} == {
        "pump1": "pump",
        "pump2": "pump",
        "pump3": "pump_2",
        "tank": "tank",
    }
    assert set(config.asset_types["pump_2"].signals) == {"pressure", "_2nd_stage", "pressure_2"}
    assert config.asset_types["pump"].signals["volume"].unit == ""  # m3 is not read by pint
    assert "volume: {unit: ''}  # the server's unit 'm3' is not one pint reads" in text
    assert config.asset_types["tank"].analytics[0].kind == "ewma_zscore"  # one signal
    (connector,) = config.connectors
    assert isinstance(connector, OpcUaSpec)
    assert len(connector.points) == len(points)
    assert all(model.knows(connector.path(point)) for point in connector.points)
    assert "Writable on the server: pressure (ns=2;s=Pump1.Pressure, Float)." in text
