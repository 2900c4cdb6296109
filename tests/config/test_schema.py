"""``valueloop schema site`` and ``valueloop schema edge``: JSON Schemas an editor can use."""

from __future__ import annotations

import json
import re
from typing import Any

from typer.testing import CliRunner

from valueloop.cli.app import app
from valueloop.config import SiteConfig
from valueloop.config.jsonschema import connector_kinds
from valueloop.config.reference import site_reference

runner = CliRunner()


def _schema(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["schema", *args])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert isinstance(schema, dict)
    return schema


def test_site_schema_has_every_section_and_every_installed_connector_kind() -> None:
    schema = _schema("site")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    properties = schema["properties"]
    assert set(properties) == set(SiteConfig.model_fields)
    assert schema["required"] == ["site"]
    assert schema["additionalProperties"] is False
    entries = properties["connectors"]["items"]["oneOf"]
    kinds = connector_kinds().models
    assert {"opcua", "mqtt", "modbus", "sparkplug"} <= set(kinds)
    assert [entry["$ref"] for entry in entries] == [
        f"#/$defs/{model.__name__}" for model in kinds.values()
    ]
    definitions = schema["$defs"]
    assert definitions["OpcUaSpec"]["properties"]["kind"]["const"] == "opcua"


def test_durations_and_unit_shorthands_are_as_a_file_writes_them() -> None:
    schema = _schema("site")
    definitions = schema["$defs"]
    within = definitions["PolicySpec"]["properties"]["approve_within"]
    assert within["default"] == "7d"
    pattern = within["anyOf"][0]["pattern"]
    assert all(re.match(pattern, text) for text in ("90s", "30min", "12h", "1d"))
    assert not re.match(pattern, "P7D")
    signals = definitions["AssetType"]["properties"]["signals"]["patternProperties"]
    (entry,) = signals.values()
    assert {"type": "string", "description": "the unit alone: `mm/s`"} in entry["anyOf"]
    tls = definitions["TlsSpec"]["properties"]["insecure"]
    assert tls["description"].startswith("Skip the check")


def test_edge_schema() -> None:
    schema = _schema("edge")
    assert schema["required"] == ["edge", "forward", "connectors"]
    connectors = schema["properties"]["connectors"]
    assert connectors["minItems"] == 1
    assert len(connectors["items"]["oneOf"]) == len(connector_kinds().models)


def test_markdown_prints_the_reference() -> None:
    result = runner.invoke(app, ["schema", "site", "--markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout == site_reference()
