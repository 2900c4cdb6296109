"""The README's configuration examples are valid: each connector and the edge.yaml validate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from valueloop.config import connector_specs
from valueloop.edge.config import EdgeConfig
from valueloop.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def _yaml_blocks() -> list[Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    blocks = [block for block in blocks if not block.startswith("site:")]
    return [yaml.safe_load(block) for block in blocks]


def test_every_connector_example_validates() -> None:
    kinds = set()
    for document in _yaml_blocks():
        entries = document.get("connectors", []) if isinstance(document, dict) else document
        for spec in connector_specs(entries):
            kinds.add(spec.kind)
    assert kinds >= {"mqtt", "sparkplug", "opcua", "modbus"}


def test_the_edge_example_validates() -> None:
    edges = [d for d in _yaml_blocks() if isinstance(d, dict) and "edge" in d]
    assert len(edges) == 1
    config = EdgeConfig.model_validate(edges[0])
    assert config.forward.token_env == "VALUELOOP_EDGE_TOKEN"


def _own_site() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    (site,) = [block for block in blocks if block.startswith("site:")]
    return str(site)


def test_the_own_site_example_validates_with_its_units_converted() -> None:
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import parse_site

    config = parse_site(_own_site(), kinds=KINDS)
    points = {point.series: point for point in config.connectors[0].points}
    assert points["compressor-1/discharge_pressure"].scale == pytest.approx(0.01)
    assert points["compressor-1/power"].scale == pytest.approx(0.001)
    temperature = points["compressor-1/inlet_temperature"]
    assert (temperature.scale, temperature.offset) == pytest.approx((5 / 9, -32 * 5 / 9))
    assert [binding.kind for binding in config.asset_types["compressor"].analytics] == [
        "pca_t2q",
        "expected_value",
        "forecaster",
    ]


def test_the_own_site_error_example_is_what_validate_prints() -> None:
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import parse_site

    broken = (
        _own_site()
        .replace("series: compressor-1/vibration", "series: compressor-9/vibration")
        .replace("signal: power_model_residual", "signal: power_modl_residual")
    )
    with pytest.raises(ConfigError) as raised:
        parse_site(broken, kinds=KINDS)
    printed = re.search(
        r"  ```\n  (invalid site configuration:.*?)\n  ```", README.read_text(), re.S
    )
    assert printed is not None
    expected = "\n".join(line.removeprefix("  ") for line in printed.group(1).splitlines())
    assert str(raised.value) == expected


def test_the_own_site_commands_exist() -> None:
    from typer.testing import CliRunner

    from valueloop.cli.app import app

    section = README.read_text().split("## Your own site", 1)[1].split("\n## ", 1)[0]
    (commands,) = re.findall(r"```bash\n(.*?)```", section, re.S)
    for line in commands.splitlines():
        words = line.split("#", 1)[0].split()
        assert words[0] == "valueloop"
        verb = [word for word in words[1:3] if not word.startswith("-")][:1]
        if words[1] in ("users", "schema"):
            verb = words[1:3]
        result = CliRunner().invoke(app, [*verb[:2], "--help"] if verb else ["--help"])
        assert result.exit_code == 0, f"{line}: {result.output}"


def test_the_acting_example_validates_as_a_site() -> None:
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import parse_site

    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    (acting,) = [block for block in blocks if block.startswith("asset_types:")]
    config = parse_site("site: {name: plant}\n" + acting, kinds=KINDS)
    setpoint = config.asset_types["pump_skid"].setpoints["speed_setpoint"]
    assert setpoint.auto is not None and setpoint.guards[0].above == 80
    assert config.policy.of("setpoint").approvals == 2
    assert config.policy.of("maintenance").approvals == 1
    assert config.maintenance.webhook is not None
