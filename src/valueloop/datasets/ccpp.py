"""UCI Combined Cycle Power Plant data (Tüfekci 2014) as an Arrow table.

9568 hourly averages of a combined-cycle plant at full load (2006-2011): ambient temperature ``AT``
(°C), exhaust vacuum ``V`` (cm Hg), ambient pressure ``AP`` (mbar), relative humidity ``RH`` (%)
and the net electrical output ``PE`` (MW). The rows have no timestamps: a regression set.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv

from valueloop.datasets import data_dir
from valueloop.errors import DataError

CCPP_INPUTS = ("AT", "V", "AP", "RH")
CCPP_TARGET = "PE"


def load_ccpp() -> pa.Table:
    """All rows of ``data/ccpp/ccpp.csv.gz``: ``AT``, ``V``, ``AP``, ``RH``, ``PE`` as float64."""
    path = data_dir() / "ccpp" / "ccpp.csv.gz"
    columns = (*CCPP_INPUTS, CCPP_TARGET)
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.float64()), include_columns=list(columns)
            ),
        )
    except (OSError, pa.ArrowInvalid, pa.ArrowKeyError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    for name in columns:
        nulls = table[name].null_count
        if nulls:
            raise DataError(f"{path}: column {name} has {nulls} empty values")
    return table
