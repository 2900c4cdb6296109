"""The value ledger: what each policy cost and what the platform saved, with its assumptions.

Entries are append-only and chained under the site's audit key
(:class:`~valueloop.store.appendonly.AppendOnlyLog`), so a contract or a lender can check that no
figure was changed or removed after it was recorded. Each entry names the plan and model version it
rests on and carries its assumptions (prices, horizon, fleet) as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from valueloop.store.appendonly import GENESIS, AppendOnlyLog, ChainReport
from valueloop.store.duckdb import DuckDBStore

LEDGER_COLUMNS = (
    ("run_id", "VARCHAR NOT NULL"),
    ("kind", "VARCHAR NOT NULL"),
    ("subject", "VARCHAR NOT NULL"),
    ("metric", "VARCHAR NOT NULL"),
    ("value", "DOUBLE NOT NULL"),
    ("unit", "VARCHAR NOT NULL"),
    ("plan_id", "VARCHAR NOT NULL"),
    ("model_version", "VARCHAR NOT NULL"),
    ("assumptions", "VARCHAR NOT NULL"),
)


@dataclass(frozen=True)
class LedgerEntry:
    """One measured figure: e.g. kind ``policy``, subject ``run_to_failure``, metric ``cost``."""

    kind: str
    subject: str
    metric: str
    value: float
    unit: str


class Ledger:
    """The append-only value ledger of a site."""

    def __init__(self, store: DuckDBStore) -> None:
        self._log = AppendOnlyLog(store, "ledger", LEDGER_COLUMNS)

    def record(
        self,
        entries: Sequence[LedgerEntry],
        *,
        run_id: str,
        plan_id: str,
        model_version: str,
        assumptions: Mapping[str, Any],
    ) -> list[int]:
        """Append entries that share a run, plan, model version and assumptions."""
        text = json.dumps(assumptions, sort_keys=True, default=str)
        return self._log.append(
            [
                {
                    "run_id": run_id,
                    "kind": entry.kind,
                    "subject": entry.subject,
                    "metric": entry.metric,
                    "value": float(entry.value),
                    "unit": entry.unit,
                    "plan_id": plan_id,
                    "model_version": model_version,
                    "assumptions": text,
                }
                for entry in entries
            ]
        )

    def entries(self, run_id: str | None = None) -> pa.Table:
        """All entries, or those of one run, in order."""
        if run_id is None:
            return self._log.rows()
        return self._log.rows("run_id = ?", [run_id])

    def entries_of_plan(self, plan_id: str) -> pa.Table:
        """The entries recorded under ``plan_id``, in order."""
        return self._log.rows("plan_id = ?", [plan_id])

    def head(self) -> tuple[int, str]:
        """The ledger's last sequence number and hash (0 and the genesis hash when empty)."""
        rows = self._log.rows("seq = (SELECT max(seq) FROM ledger)")
        if rows.num_rows == 0:
            return 0, GENESIS
        return int(rows.column("seq")[0].as_py()), str(rows.column("hash")[0].as_py())

    def latest_run(self) -> str | None:
        """The id of the most recent run recorded, if any."""
        rows = self._log.rows()
        return None if rows.num_rows == 0 else str(rows.column("run_id")[-1].as_py())

    def verify(self, *, full: bool = True) -> ChainReport:
        """Whether the ledger's chain and anchors are intact, else its first broken entry."""
        return self._log.verify(full=full)
