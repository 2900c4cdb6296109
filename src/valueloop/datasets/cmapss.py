"""NASA C-MAPSS turbofan run-to-failure data (Saxena et al., PHM08) as Arrow tables.

Each text file holds one row per engine cycle: ``unit, cycle, op_setting_1..3, sensor_1..21``,
separated by spaces. :func:`parse_cmapss_text` reads such text leniently: rows whose fields are not
all numbers are returned apart, with the line number and the reason, so that a replay can send them
to the dead-letter table instead of failing or dropping them silently.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from valueloop.datasets import data_dir
from valueloop.errors import DataError

SUBSETS = ("FD001", "FD002", "FD003", "FD004")
OPERATING_SETTINGS = tuple(f"op_setting_{i}" for i in range(1, 4))
SENSORS = tuple(f"sensor_{i}" for i in range(1, 22))
MEASUREMENTS = OPERATING_SETTINGS + SENSORS
COLUMNS = ("unit", "cycle", *MEASUREMENTS)

_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_WHOLE = r"^\+?\d{1,9}$"

Split = Literal["train", "test"]
_REJECTED_SCHEMA = pa.schema([("line", pa.int64()), ("raw", pa.string()), ("reason", pa.string())])


@dataclass(frozen=True)
class ParsedText:
    """The outcome of reading C-MAPSS text: typed rows and the rows that could not be read."""

    rows: pa.Table
    rejected: pa.Table  # line (int64), raw (string), reason (string)


def _check_subset(subset: str) -> None:
    if subset not in SUBSETS:
        raise DataError(f"unknown C-MAPSS subset {subset!r}: expected one of {', '.join(SUBSETS)}")


def cmapss_path(subset: str, split: Split | Literal["RUL"]) -> Path:
    """Path of a vendored C-MAPSS file, e.g. ``cmapss_path("FD001", "train")``."""
    _check_subset(subset)
    path = data_dir() / "cmapss" / f"{split}_{subset}.txt.gz"
    if not path.is_file():
        raise DataError(f"C-MAPSS file {path} is missing from the data folder")
    return path


def read_text(path: Path) -> str:
    """Read a plain or gzipped text file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return handle.read()


def _parse_clean(text: str) -> pa.Table | None:
    """Arrow's CSV reader on well-formed text (fast); None if any row is not."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    trailing = [f"trailing_{i}" for i in range(2)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode()),
            read_options=pacsv.ReadOptions(column_names=[*COLUMNS, *trailing]),
            parse_options=pacsv.ParseOptions(delimiter=" "),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.float64() for name in COLUMNS},
                include_columns=list(COLUMNS),
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != lines or any(table.column(name).null_count for name in COLUMNS):
        return None
    ids = {name: pc.cast(table.column(name), pa.int32()) for name in ("unit", "cycle")}
    if not all(
        pc.all(pc.equal(pc.cast(ids[n], pa.float64()), table.column(n))).as_py() for n in ids
    ):
        return None
    return table.set_column(0, "unit", ids["unit"]).set_column(1, "cycle", ids["cycle"])


def parse_cmapss_text(text: str) -> ParsedText:
    """Parse C-MAPSS rows; rows with a wrong field count or a non-number go to ``rejected``.

    Well-formed text goes through Arrow's CSV reader; any other text is read row by row.
    """
    clean = _parse_clean(text)
    if clean is not None:
        return ParsedText(rows=clean, rejected=_REJECTED_SCHEMA.empty_table())
    lines = pa.array(text.splitlines(), pa.string())
    line_numbers = pa.array(range(1, len(lines) + 1), pa.int64())
    trimmed = pc.utf8_trim_whitespace(lines)
    keep_nonblank = pc.not_equal(trimmed, "")
    lines, line_numbers, trimmed = (
        lines.filter(keep_nonblank),
        line_numbers.filter(keep_nonblank),
        trimmed.filter(keep_nonblank),
    )
    fields = pc.split_pattern_regex(trimmed, r"\s+")
    counts = pc.list_value_length(fields)
    width_ok = pc.equal(counts, len(COLUMNS))
    reasons = pc.if_else(
        width_ok,
        pa.scalar(None, pa.string()),
        pc.binary_join_element_wise(
            pa.scalar("expected 26 fields, found "), pc.cast(counts, pa.string()), ""
        ),
    )
    padded = pc.if_else(width_ok, fields, pa.scalar(["0"] * len(COLUMNS), pa.list_(pa.string())))
    columns: dict[str, pa.Array] = {}
    for index, name in enumerate(COLUMNS):
        values = pc.list_element(padded, index)
        whole = name in ("unit", "cycle")
        numeric = pc.match_substring_regex(values, _WHOLE if whole else _NUMBER)
        reason = pc.binary_join_element_wise(
            pa.scalar(f"column {name}: not {'a whole' if whole else 'a'} number: "), values, ""
        )
        reasons = pc.coalesce(reasons, pc.if_else(numeric, pa.scalar(None, pa.string()), reason))
        columns[name] = pc.if_else(numeric, values, pa.scalar("nan"))
    valid = pc.is_null(reasons)
    rows = pa.table(
        {
            name: pc.cast(
                array.filter(valid), pa.int32() if name in ("unit", "cycle") else pa.float64()
            )
            if name not in ("unit", "cycle")
            else pc.cast(pc.cast(array.filter(valid), pa.float64()), pa.int32())
            for name, array in columns.items()
        }
    )
    invalid = pc.invert(valid)
    rejected = pa.table(
        {
            "line": line_numbers.filter(invalid),
            "raw": lines.filter(invalid),
            "reason": reasons.filter(invalid),
        }
    )
    return ParsedText(rows=rows, rejected=rejected)


def load_cmapss(subset: str, split: Split) -> pa.Table:
    """Rows of ``train`` or ``test`` for a subset, typed: unit and cycle int32, the rest float64."""
    parsed = parse_cmapss_text(read_text(cmapss_path(subset, split)))
    if parsed.rejected.num_rows:
        first = parsed.rejected.to_pylist()[0]
        raise DataError(f"{split}_{subset}: line {first['line']}: {first['reason']}")
    return parsed.rows


def load_true_rul(subset: str) -> pa.Table:
    """True remaining useful life of each test engine at its last cycle: ``unit``, ``rul``."""
    values = read_text(cmapss_path(subset, "RUL")).split()
    return pa.table(
        {
            "unit": pa.array(range(1, len(values) + 1), pa.int32()),
            "rul": pa.array([int(v) for v in values], pa.int32()),
        }
    )
