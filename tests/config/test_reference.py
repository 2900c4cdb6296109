"""``docs/site-reference.md`` is the reference the models generate, word for word."""

from __future__ import annotations

from pathlib import Path

from valueloop.config.reference import COMMAND, site_reference

REFERENCE = Path(__file__).parents[2] / "docs" / "site-reference.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    committed = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert committed == site_reference(), (
        f"{REFERENCE} differs from the configuration models; run `{COMMAND}` to refresh it"
    )


def test_every_section_documents_its_keys() -> None:
    text = site_reference()
    for heading in (
        "## Site",
        "## Asset types",
        "## Signals",
        "## Set-points",
        "## Attributes",
        "## Analytics bindings",
        "## Alarms",
        "## Costs",
        "## Assets",
        "## Connectors",
        "## Decisions",
        "## Policy",
        "## Tariffs",
        "## Store",
        "## Packs",
        "### OpcUaSpec",
        "### OpcUaPoint",
        "### MqttSpec",
        "### ModbusSpec",
        "### SparkplugSpec",
        "### RuleSpec",
        "### PlannerSpec",
    ):
        assert f"\n{heading}\n" in text, heading
    assert (
        "| `threshold` | number (>= 0, <= 1) | `0.99` | a detector score above it is anomalous |"
        in (text)
    )
    assert "| `approve_within` | duration | `7d` |" in text
    # a key described by a docstring under it, and one by the Attributes section of its class
    assert "| `insecure` | boolean | `false` | Skip the check" in text
    assert (
        "| `keepalive` | integer (>= 5, <= 3600) | `30` | seconds between pings when idle. |"
        in (text)
    )
    # every model is documented once
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert len(headings) == len(set(headings))
