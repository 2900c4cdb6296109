"""A site.yaml's mistakes are reported with the file, line and field they are at, and unit
conversions are folded into the connector mappings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from valueloop.analytics.catalogue import KINDS
from valueloop.config import SiteConfig, load_site
from valueloop.errors import ConfigError
from valueloop.model.site import SiteModel

SITE = """\
site: {name: plant, currency: EUR}
asset_types:
  pump:
    signals:
      pressure: bar
      power: kW
      temperature: degC
      vibration: mm/s
    analytics:
      - {name: health, kind: ewma_zscore, signals: [vibration], fit: {window: 7d}}
    alarms:
      - {name: high_vibration, signal: vibration, limits: {hi: 7.1}}
      - {name: anomaly, analytics: health}
assets:
  - {path: water/line-1/pump-01, type: pump}
  - {path: water/line-1/pump-02, type: pump}
connectors:
  - name: line-1
    kind: modbus
    host: 192.0.2.10
    prefix: plant/water/line-1
    points:
      - {address: 0, series: pump-01/pressure}
      - {address: 1, series: pump-01/power}
      - {address: 2, series: pump-01/temperature}
decisions:
  rules:
    - name: inspect
      when: {alarm: high_vibration}
      propose: {task: inspect bearings}
tariffs:
  electricity: {price: 0.21, unit: EUR/kWh}
"""


def _load(tmp_path: Path, old: str = "", new: str = "") -> SiteConfig:
    assert not old or SITE.count(old) == 1, old
    path = tmp_path / "site.yaml"
    path.write_text(SITE.replace(old, new), encoding="utf-8")
    return load_site(path, kinds=KINDS)


def test_the_base_site_is_valid(tmp_path: Path) -> None:
    config = _load(tmp_path)
    assert [point.unit for point in config.connectors[0].points] == ["bar", "kW", "degC"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        pytest.param(
            "series: pump-01/pressure",
            "series: pump-09/pressure",
            "connectors.0.points.0.series",
            "asset 'pump-09' is not in assets",
            id="mapping to an unknown asset",
        ),
        pytest.param(
            "series: pump-01/pressure",
            "series: pump-01/torque",
            "connectors.0.points.0.series",
            "pump has no signal 'torque' (it has: power, pressure, temperature, vibration)",
            id="mapping to a signal the type lacks",
        ),
        pytest.param(
            "{address: 2, series: pump-01/temperature}",
            "{address: 2, series: pump-01/vibration, unit: degC}",
            "connectors.0.points.2.unit",
            "unit 'degC' cannot be converted to 'mm/s': they measure different things",
            id="a unit that does not convert",
        ),
        pytest.param(
            "when: {alarm: high_vibration}",
            "when: {alarm: overheating}",
            "decisions.rules.0.when.alarm",
            "no alarm is named 'overheating' (anomaly, high_vibration)",
            id="a rule naming an unknown alarm",
        ),
        pytest.param(
            "{name: anomaly, analytics: health}",
            "{name: anomaly, analytics: wellness}",
            "asset_types.pump.alarms.1.analytics",
            "pump has no binding 'wellness' (health)",
            id="an alarm on an unknown binding",
        ),
        pytest.param(
            "{path: water/line-1/pump-02, type: pump}",
            "{path: water/line-1/pump-02, type: pmup}",
            "assets.1.type",
            "unknown asset type 'pmup' (declared: pump)",
            id="an unknown asset type",
        ),
        pytest.param(
            "{path: water/line-1/pump-02, type: pump}",
            "{path: water/line-2/pump-01, type: pump}",
            "assets.1.path",
            "asset name 'pump-01' is declared twice",
            id="a repeated asset name",
        ),
        pytest.param(
            "site: {name: plant, currency: EUR}",
            "site: {name: plant, currency: EUR, timezone: Mars/Olympus_Mons}",
            "site.timezone",
            "unknown time zone 'Mars/Olympus_Mons' (an IANA name: Europe/Berlin)",
            id="an unknown time zone",
        ),
        pytest.param(
            "{price: 0.21, unit: EUR/kWh}",
            "{price: 0.23, unit: USD/kWh}",
            "tariffs.electricity.unit",
            "tariff in USD, but the site's currency is EUR",
            id="a tariff in another currency",
        ),
    ],
)
def test_a_mistake_is_named_with_file_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    line = (
        SITE.replace(old, new)
        .splitlines()
        .index(next(text for text in SITE.replace(old, new).splitlines() if new in text))
    )
    expected = f"{tmp_path / 'site.yaml'}, line {line + 1}: {field}: "
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, old, new)
    assert expected in str(raised.value), str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "index", "unit", "scale", "offset"),
    [
        pytest.param(
            "{address: 1, series: pump-01/power}",
            "{address: 1, series: pump-01/power, unit: W}",
            1,
            "kW",
            0.001,
            0.0,
            id="W to kW",
        ),
        pytest.param(
            "{address: 1, series: pump-01/power}",
            "{address: 1, series: pump-01/power, unit: W, scale: 0.1, offset: 20}",
            1,
            "kW",
            0.0001,
            0.02,
            id="W to kW after the register's own scale and offset",
        ),
        pytest.param(
            "{address: 2, series: pump-01/temperature}",
            "{address: 2, series: pump-01/temperature, unit: degF}",
            2,
            "degC",
            5 / 9,
            -32 * 5 / 9,
            id="degF to degC (affine)",
        ),
    ],
)
def test_a_convertible_unit_is_folded_into_scale_and_offset(
    tmp_path: Path, old: str, new: str, index: int, unit: str, scale: float, offset: float
) -> None:
    point = _load(tmp_path, old, new).connectors[0].points[index]  # type: ignore[attr-defined]
    assert point.unit == unit
    assert point.scale == pytest.approx(scale)
    assert point.offset == pytest.approx(offset)


def test_an_asset_range_declares_one_asset_per_number(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "  - {path: water/line-1/pump-02, type: pump}\n",
        "  - {path: water/line-1/pump-02, type: pump}\n"
        "  - {path: 'fleet/line-1/engine-{001..003}', type: pump}\n",
    )
    model = SiteModel(config)
    assert [name for name in model.assets if name.startswith("engine")] == [
        "engine-001",
        "engine-002",
        "engine-003",
    ]
    assert model.path("engine-002", "power") == "plant/fleet/line-1/engine-002/power"


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    text = SITE.replace("pump-01/pressure", "pump-09/pressure").replace("EUR/kWh", "USD/kWh")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_site(path, kinds=KINDS)
    assert len(re.findall(rf"{re.escape(str(path))}, line \d+: ", str(raised.value))) == 2


def test_an_alarm_on_a_derived_series_validates_without_a_kind_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        SITE.replace(
            "{name: anomaly, analytics: health}",
            "{name: anomaly, signal: health_score, limits: {hi: 0.99}}",
        ),
        encoding="utf-8",
    )
    assert load_site(path, kinds=KINDS).asset_types["pump"].alarms[1].signal == "health_score"
    assert load_site(path).asset_types["pump"].alarms[1].signal == "health_score"


def test_a_reversed_asset_range_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"assets\.2\.path"):
        _load(
            tmp_path,
            "  - {path: water/line-1/pump-02, type: pump}\n",
            "  - {path: water/line-1/pump-02, type: pump}\n"
            "  - {path: 'fleet/line-1/engine-{003..001}', type: pump}\n",
        )


def test_a_signal_without_a_unit_may_be_left_empty(tmp_path: Path) -> None:
    config = _load(tmp_path, "      pressure: bar\n", "      pressure: bar\n      count:\n")
    assert config.asset_types["pump"].signals["count"].unit == ""


def test_two_person_approval_needs_two_approvals_however_built() -> None:
    from valueloop.config import PolicySpec

    assert PolicySpec(approval="two_person").approvals == 2
