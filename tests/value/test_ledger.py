"""The value ledger keeps entries with their assumptions and detects tampering."""

from __future__ import annotations

import json

from valueloop.store.duckdb import DuckDBStore
from valueloop.value.ledger import Ledger, LedgerEntry


def test_entries_carry_assumptions_and_the_chain_detects_edits() -> None:
    store = DuckDBStore(":memory:")
    ledger = Ledger(store)
    assert ledger.latest_run() is None
    ledger.record(
        [LedgerEntry("policy", "run_to_failure", "cost", 5.25e8, "USD")],
        run_id="RUN-1",
        plan_id="PL-1",
        model_version="rul-a",
        assumptions={"horizon_days": 75},
    )
    ledger.record(
        [
            LedgerEntry("policy", "predictive", "cost", 2.5e8, "USD"),
            LedgerEntry("savings", "predictive_vs_run_to_failure", "percent", 52.4, "%"),
        ],
        run_id="RUN-2",
        plan_id="PL-2",
        model_version="rul-b",
        assumptions={"horizon_days": 75, "prices": {"planned_overhaul": 2e6}},
    )
    assert ledger.latest_run() == "RUN-2"
    rows = ledger.entries("RUN-2").to_pylist()
    assert [row["value"] for row in rows] == [2.5e8, 52.4]
    assert json.loads(rows[0]["assumptions"])["prices"] == {"planned_overhaul": 2e6}
    assert ledger.verify().ok
    store.execute("UPDATE ledger SET value = 1e8 WHERE seq = 2")
    assert ledger.verify().first_broken == 2
