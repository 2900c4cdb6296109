"""The C-MAPSS reader: the fast path for clean text and the row-by-row path agree exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest

from valueloop.datasets.cmapss import (
    COLUMNS,
    SUBSETS,
    cmapss_path,
    load_true_rul,
    parse_cmapss_text,
    read_text,
)


@pytest.mark.parametrize("subset", SUBSETS)
def test_clean_files_parse_exactly_and_both_paths_agree(subset: str) -> None:
    text = read_text(cmapss_path(subset, "test"))
    fast = parse_cmapss_text(text)
    row_by_row = parse_cmapss_text(text + "\n\n")  # blank lines send the text row by row
    assert fast.rejected.num_rows == row_by_row.rejected.num_rows == 0
    assert fast.rows.equals(row_by_row.rows)
    assert fast.rows.column_names == list(COLUMNS)
    expected = np.loadtxt(io.StringIO(text))
    got = np.column_stack([fast.rows.column(name).to_numpy() for name in COLUMNS])
    assert np.array_equal(got.astype(np.float64), expected)
    assert load_true_rul(subset).num_rows == len(set(fast.rows.column("unit").to_pylist()))


def test_a_fractional_unit_number_is_rejected_not_truncated() -> None:
    row = "1.5 1 " + " ".join(["0.5"] * 24)
    parsed = parse_cmapss_text(row + "\n")
    assert parsed.rows.num_rows == 0
    assert parsed.rejected.column("reason").to_pylist() == ["column unit: not a whole number: 1.5"]
