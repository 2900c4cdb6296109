"""Write the seed corpus of every fuzz target: ``corpus/<target>/seed-*``.

The seeds are what the decoders document and real sites send: the MQTT payload shapes of
:mod:`valueloop.connectors.mqtt.payload`, a Sparkplug B session (NBIRTH, DBIRTH, NDATA and DDATA by
alias and by name, deaths) encoded with the project's own protobuf module, and the site.yaml files
of the aviation pack, the end-to-end plant and the README. Seeds are rewritten from this file, so
they stay what it says; inputs the fuzzer adds beside them are left alone.

    python bench/fuzz/seeds.py
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from targets import CORPUS, mqtt_input, sparkplug_input

from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.connectors.sparkplug.codec import rebirth_command, state_payload

ROOT = Path(__file__).resolve().parents[2]
START_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z."""


def _objects(count: int, start_ms: int = START_MS) -> bytes:
    items = [{"ts": start_ms + n * 1000, "value": 20 + n / 10} for n in range(count)]
    return json.dumps(items, separators=(",", ":")).encode()


def mqtt_seeds() -> dict[str, bytes]:
    """The payload shapes ``decode_batch`` reads and refuses, alone and in batches."""
    flow, temp, power = "plant/pump-1/flow", "plant/pump-2/temp", "plant/meter/power"
    one = {
        "number": b"21.5",
        "object-ms": b'{"ts": 1767225600000, "value": 3.25}',
        "object-iso": b'{"ts": "2026-01-01T01:00:00+01:00", "value": 3.25}',
        "object-null": b'{"ts": 1767225600000, "value": null}',
        "object-series": b'{"series": "pump-7/flow", "value": 4}',
        "object-signal": b'{"signal": "pressure", "ts": "2026-01-01T00:00:00", "value": 1e3}',
        "objects": _objects(5),
        "pairs": b"[[1767225600000, 1.5], [1767225601000, -2], [1767225602000, null]]",
        "mixed": (
            b'[{"ts": 1767225600000, "value": "x"}, [1767225600000], true, {"ts": "noon", '
            b'"value": 1}, {"ts": 1767225600000}, [NaN, 1], {"value": 2, "signal": "a/b"}]'
        ),
        "out-of-range": b'[{"ts": 1e16, "value": 5}, {"ts": -1, "value": 6}, [1e300, 1]]',
        "too-many": _objects(65),
        "bad-json": b'{"ts": 1767225600000, "value": ',
        "nested": b"[" * 40 + b"]" * 40,
        "smuggled-line": b'[{"ts": 1767225600000, "value": 1}]\n{"p": [{"ts": 1, "value": 2}]}',
    }
    seeds = {name: mqtt_input([(flow, payload)]) for name, payload in one.items()}
    seeds["batch"] = mqtt_input(
        [
            (flow, _objects(3)),
            ("plant/pump-2/flow", _objects(2, START_MS + 5000)),
            (temp, b'[{"ts": 1767225600, "value": 71.5}, [1767225660, 72]]'),
            (power, b'{"ts": 1767225600000, "value": 1250}'),
            ("plant/unmapped", b"1"),
            (flow, b"[1, 2]"),
        ]
    )
    seeds["oversized"] = mqtt_input([(flow, _objects(260))])
    seeds["bare"] = b"[[1767225600000, 1.5]]"
    return seeds


def _metric(name: str, alias: int, datatype: int, **value: Any) -> pb.Payload.Metric:
    return pb.Payload.Metric(name=name, alias=alias, datatype=datatype, **value)


def _with_unit(metric: pb.Payload.Metric, unit: str) -> pb.Payload.Metric:
    metric.properties.keys.append("engUnit")
    metric.properties.values.add(type=pb.String, string_value=unit)
    return metric


def _payload(seq: int, metrics: list[pb.Payload.Metric], *, timestamp: bool = True) -> bytes:
    payload = pb.Payload(seq=seq)
    if timestamp:
        payload.timestamp = START_MS
    payload.metrics.extend(metrics)
    return bytes(payload.SerializeToString())


def _node_birth(bd_seq: int = 0) -> bytes:
    return _payload(
        0,
        [
            pb.Payload.Metric(name="bdSeq", datatype=pb.UInt64, long_value=bd_seq),
            pb.Payload.Metric(name="Node Control/Rebirth", datatype=pb.Boolean, boolean_value=0),
            _with_unit(_metric("Temperature", 1, pb.Float, float_value=21.5), "degC"),
            _metric("Uptime", 2, pb.Int64, long_value=2**64 - 5),
            _metric("Mode", 3, pb.String, string_value="auto"),
        ],
    )


def _device_birth(seq: int) -> bytes:
    service = pb.Payload.Metric(name="Last Service", alias=14, datatype=pb.DateTime)
    service.long_value = START_MS - 86_400_000
    table = pb.Payload.Metric(name="History", alias=17, datatype=pb.DataSet)
    table.dataset_value.num_of_columns = 2
    table.dataset_value.columns.extend(["t", "v"])
    table.dataset_value.types.extend([pb.Int64, pb.Double])
    table.dataset_value.rows.add().elements.extend(
        [pb.Payload.DataSet.DataSetValue(long_value=1), pb.Payload.DataSet.DataSetValue()]
    )
    udt = pb.Payload.Metric(name="Motor", alias=18, datatype=pb.Template)
    udt.template_value.metrics.add(name="Current", datatype=pb.Float, float_value=12.5)
    udt.template_value.parameters.add(name="rating", type=pb.Double, double_value=15.0)
    return _payload(
        seq,
        [
            _with_unit(_metric("Outlet Pressure", 10, pb.Double, double_value=4.2), "bar"),
            _with_unit(_metric("Speed", 11, pb.Int32, int_value=1450), "rpm"),
            _metric("Running", 12, pb.Boolean, boolean_value=True),
            _metric("Serial", 13, pb.String, string_value="SN-1"),
            service,
            _metric("Count", 15, pb.UInt32, int_value=2**32 - 1),
            _metric("Level", 16, pb.Int8, int_value=2**32 - 3),
            table,
            udt,
        ],
    )


def _node_data(seq: int) -> bytes:
    return _payload(
        seq,
        [
            pb.Payload.Metric(alias=1, datatype=pb.Float, float_value=22.0),
            pb.Payload.Metric(alias=2, datatype=pb.Int64, long_value=7),
        ],
    )


def _device_data(seq: int) -> bytes:
    late = pb.Payload.Metric(alias=10, datatype=pb.Double, double_value=4.4)
    late.timestamp = START_MS + 2000
    return _payload(
        seq,
        [
            pb.Payload.Metric(alias=11, datatype=pb.Int32, int_value=2**32 - 40),
            pb.Payload.Metric(alias=12, datatype=pb.Boolean, boolean_value=False),
            pb.Payload.Metric(alias=16, datatype=pb.Int8, is_null=True),
            late,
        ],
        timestamp=False,
    )


def _device_data_by_name(seq: int) -> bytes:
    return _payload(
        seq, [pb.Payload.Metric(name="Outlet Pressure", datatype=pb.Double, double_value=4.6)]
    )


def sparkplug_seeds() -> dict[str, bytes]:
    """A real session and the ways it goes wrong: gaps, no birth, undeclared metrics, garbage."""
    nbirth, dbirth = "spBv1.0/line1/NBIRTH/edge-1", "spBv1.0/line1/DBIRTH/edge-1/pump-1"
    ndata, ddata = "spBv1.0/line1/NDATA/edge-1", "spBv1.0/line1/DDATA/edge-1/pump-1"
    ndeath, ddeath = "spBv1.0/line1/NDEATH/edge-1", "spBv1.0/line1/DDEATH/edge-1/pump-1"
    death = pb.Payload(timestamp=START_MS)
    death.metrics.add(name="bdSeq", datatype=pb.UInt64, long_value=0)
    sessions = {
        "session": [
            (nbirth, _node_birth()),
            (dbirth, _device_birth(1)),
            (ndata, _node_data(2)),
            (ddata, _device_data(3)),
            (ddata, _device_data_by_name(4)),
            (ddeath, _payload(5, [])),
            (ndeath, bytes(death.SerializeToString())),
        ],
        "two-nodes": [
            (nbirth, _node_birth()),
            ("spBv1.0/line1/DBIRTH/edge-1/pump-2", _device_birth(1)),
            ("spBv1.0/line1/DDATA/edge-1/pump-2", _device_data(2)),
            ("spBv1.0/line1/NBIRTH/edge-2", _node_birth(3)),
            ("spBv1.0/line1/NDATA/edge-2", _node_data(1)),
        ],
        "gap": [(nbirth, _node_birth()), (ndata, _node_data(5)), (ndata, _node_data(6))],
        "no-birth": [(ddata, _device_data(1)), (ddeath, _payload(2, []))],
        "undeclared": [
            (nbirth, _node_birth()),
            (ndata, _payload(1, [pb.Payload.Metric(alias=a, double_value=1) for a in (7, 8, 9)])),
        ],
        "garbage": [
            (nbirth, _node_birth()),
            (ndata, b"\x08" * 20),
            (ndata, _node_data(1)[:-3]),
            (ndata, b"\x18"),  # a varint field cut short
        ],
        "stale-death": [(nbirth, _node_birth(4)), (ndeath, bytes(death.SerializeToString()))],
        "state-and-command": [
            ("spBv1.0/STATE/valueloop", state_payload(False, START_MS)),
            ("spBv1.0/line1/NCMD/edge-1", rebirth_command(START_MS)),
            ("spBv1.0/line1/BOGUS/edge-1", _node_data(1)),
        ],
        "too-many": [
            (
                nbirth,
                _payload(0, [_metric(f"m{n}", n, pb.Double, double_value=n) for n in range(65)]),
            )
        ],
    }
    return {name: sparkplug_input(messages) for name, messages in sessions.items()}


def site_seeds() -> dict[str, bytes]:
    """Whole sites (the aviation pack, the end-to-end plant, the README's own) and the README's
    connector and set-point examples each in a minimal site."""
    seeds = {
        "aviation": (ROOT / "src/valueloop/packs/aviation/site.yaml").read_bytes(),
        "plant": re.sub(
            rb"\{(opcua|modbus|mqtt)_port\}",
            b"4840",
            (ROOT / "tests/e2e/plant/plant.site.yaml").read_bytes(),
        ),
        "unclosed": b"site: [unclosed",
    }
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    header = "site: {name: plant}\n"
    for number, block in enumerate(blocks):
        if block.startswith("site:"):
            seeds["readme-site"] = block.encode()
        elif block.startswith("  - "):
            seeds[f"readme-{number}"] = (header + "connectors:\n" + block).encode()
        elif not block.startswith("edge:"):
            seeds[f"readme-{number}"] = (header + block).encode()
    return seeds


SEEDS: dict[str, Callable[[], dict[str, bytes]]] = {
    "mqtt_json": mqtt_seeds,
    "sparkplug": sparkplug_seeds,
    "site_yaml": site_seeds,
}


def main() -> None:
    for name, make in SEEDS.items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        seeds = make()
        for label, data in seeds.items():
            (folder / f"seed-{label}").write_bytes(data)
        print(f"{name}: {len(seeds)} seeds in {folder}")


if __name__ == "__main__":
    main()
