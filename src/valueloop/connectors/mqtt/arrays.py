"""Batched JSON arrays read as columns: many messages' ``[{"ts", "value"}, ...]`` in one Arrow pass.

The high-rate form of an MQTT JSON payload is an array of ``{"ts": <number>, "value": <number>}``
objects. The payloads of a batch that look like arrays are joined as lines of one newline-delimited
JSON document and read by Arrow's JSON reader against a strict schema, without a Python object per
reading. A payload of more than ``max_items`` items is left out (the caller dead-letters it), an
item out of the time range is rejected on its own. Anything else in any of them (another key, a
string, a boolean, a missing value, text that is not JSON) makes the reader refuse the whole
document, and the caller then reads those messages one by one, where each problem gets its own
reason.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from valueloop.connectors.columns import in_range
from valueloop.connectors.mqtt.link import Message
from valueloop.connectors.mqtt.routes import Route

TS_FACTOR = {"epoch_ms": 1e3, "epoch_s": 1e6}
"""Microseconds per unit of a numeric ``ts``, by ``ts_format``."""

_ITEM = pa.struct([("ts", pa.float64()), ("value", pa.float64())])
_PARSE = pa_json.ParseOptions(
    explicit_schema=pa.schema([("p", pa.list_(_ITEM))]), unexpected_field_behavior="error"
)
_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 26)


@dataclass(frozen=True)
class Bulk:
    """Readings read as columns, all within the time range; one entry per reading."""

    series: npt.NDArray[np.object_]
    ts_us: npt.NDArray[np.float64]
    value: pa.Array
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]


@dataclass(frozen=True)
class ArrayRead:
    """The readings of a batch of array payloads, and what was left out of them."""

    bulk: Bulk
    rejected: list[tuple[str, str]]
    """``(raw, reason)`` of each item out of the time range, raw being the item alone as a
    one-item JSON array."""
    crowded: dict[int, int]
    """The item count of each payload (by its index) not read for having more than
    ``max_items``."""


def looks_like_array(payload: bytes) -> bool:
    """Whether a payload starts as a JSON array."""
    return payload.lstrip()[:1] == b"["


def _document(messages: Sequence[Message]) -> bytes:
    # A raw line break cannot occur inside a JSON string, so replacing it keeps the JSON intact.
    return b"\n".join(
        b'{"p":' + message.payload.replace(b"\n", b" ").replace(b"\r", b" ") + b"}"
        for message in messages
    )


def read_arrays(
    messages: Sequence[Message], routes: Sequence[Route], max_items: int
) -> ArrayRead | None:
    """Read array payloads of plain ``{"ts", "value"}`` objects; None if any is not one.

    A payload of more than ``max_items`` items is left out whole (listed in ``crowded``).
    """
    try:
        table = pa_json.read_json(
            io.BytesIO(_document(messages)), read_options=_READ, parse_options=_PARSE
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(messages):  # a payload smuggled in a line of its own
        return None
    lists = table.column("p").combine_chunks()
    items = lists.flatten()
    value = items.field("value")
    if lists.null_count or value.null_count:  # a missing value: say which, item by item
        return None
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    owner = np.repeat(np.arange(len(messages)), lengths)
    received_us = np.array([message.received * 1e6 for message in messages])[owner]
    factor = np.array([TS_FACTOR[route.point.ts_format] for route in routes])[owner]
    stamps = items.field("ts")
    numbers = np.asarray(stamps.to_numpy(zero_copy_only=False), dtype=np.float64) * factor
    ts_us = np.where(pc.is_null(stamps).to_numpy(zero_copy_only=False), received_us, numbers)
    allowed = (lengths <= max_items)[owner]
    timely = in_range(ts_us)
    accepted = allowed & timely
    rejected = []
    if not accepted.all():
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for index in np.flatnonzero(allowed & ~timely):
            message = messages[owner[index]]
            item = {"ts": stamps[index].as_py(), "value": value[index].as_py()}
            rejected.append(
                (
                    json.dumps([item], separators=(",", ":")),
                    out_of_range(
                        f"topic {message.topic}: item {index - starts[owner[index]]}: ",
                        float(ts_us[index]),
                    ),
                )
            )
    chosen = owner[accepted]
    return ArrayRead(
        bulk=Bulk(
            series=np.array([route.series for route in routes], dtype=object)[chosen],
            ts_us=ts_us[accepted],
            value=value.filter(pa.array(accepted, pa.bool_())),
            scale=np.array([route.point.scale for route in routes])[chosen],
            offset=np.array([route.point.offset for route in routes])[chosen],
        ),
        rejected=rejected,
        crowded={int(index): int(lengths[index]) for index in np.flatnonzero(lengths > max_items)},
    )


def out_of_range(origin: str, ts_us: float) -> str:
    """The dead-letter reason of a reading whose time the store does not accept."""
    return (
        f"{origin}timestamp {ts_us / 1e6:.0f} s since 1970 is outside 1970-2200 (check ts_format)"
    )
