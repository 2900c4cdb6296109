"""Keyed batches are stored once per sender and key; a key reused for other readings is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from valueloop.connectors.base import readings
from valueloop.errors import ActionError
from valueloop.ingest.batches import BatchOutcome, KeyedIngest, content_digest
from valueloop.site import Site

FLOW = "plant/utilities/loop-1/pump-1/flow"
START = datetime(2026, 3, 1, 10, tzinfo=UTC)


def batch(values: list[float]) -> pa.Table:
    """Readings of the flow, one a minute from START."""
    stamps = [START + timedelta(minutes=minute) for minute in range(len(values))]
    return readings(
        [FLOW] * len(values), pa.array(stamps, pa.timestamp("us", tz="UTC")), pa.array(values)
    )


@pytest.fixture
def keyed(site: Site) -> KeyedIngest:
    site.batches.register([(FLOW, "l/min", "")])
    return site.batches


def stored_values(site: Site) -> list[float]:
    series_id = site.registry.lookup([FLOW]).column("series_id")[0].as_py()
    return list(site.points.read([series_id]).column("value").to_pylist())


def test_a_batch_sent_again_is_a_duplicate(keyed: KeyedIngest, site: Site) -> None:
    first = keyed.ingest(batch([1.0, 2.0]), source="edge-1", key="b-1")
    again = keyed.ingest(batch([1.0, 2.0]), source="edge-1", key="b-1")
    assert first == BatchOutcome("b-1", False, 2, 2, 0)
    assert again == BatchOutcome("b-1", True, 2, 2, 0)
    assert stored_values(site) == [1.0, 2.0]


def test_a_key_used_again_for_other_readings_is_refused(keyed: KeyedIngest, site: Site) -> None:
    keyed.ingest(batch([1.0, 2.0]), source="edge-1", key="b-1")
    with pytest.raises(ActionError, match="idempotency key 'b-1' was used for another batch"):
        keyed.ingest(batch([1.0, 2.0, 3.0]), source="edge-1", key="b-1")
    assert stored_values(site) == [1.0, 2.0]


def test_keys_belong_to_their_sender(keyed: KeyedIngest, site: Site) -> None:
    keyed.ingest(batch([1.0]), source="edge-1", key="b-1")
    other = keyed.ingest(batch([5.0, 6.0]), source="edge-2", key="b-1")
    assert (other.duplicate, other.stored) == (False, 2)
    assert stored_values(site) == [5.0, 6.0]


def test_many_concurrent_requests_with_one_new_key_store_once(site: Site) -> None:
    # readings of an unknown series become dead letters, which are appended, not upserted: a
    # batch stored twice would leave twice as many
    unknown = batch([float(minute) for minute in range(500)]).set_column(
        0, "series", pa.array(["plant/utilities/loop-1/pump-1/unknown"] * 500)
    )
    with ThreadPoolExecutor(50) as pool:
        outcomes = list(
            pool.map(lambda _: site.batches.ingest(unknown, source="edge-1", key="k"), range(50))
        )
    assert sorted(outcome.duplicate for outcome in outcomes) == [False] + [True] * 49
    assert {(outcome.readings, outcome.dead_letters) for outcome in outcomes} == {(500, 500)}
    assert site.pipeline.dead_letters.count() == 500


def test_a_batch_that_failed_frees_its_key(keyed: KeyedIngest, site: Site) -> None:
    malformed = batch([1.0]).drop_columns(["quality"])
    with pytest.raises(Exception, match="reading schema"):
        keyed.ingest(malformed, source="edge-1", key="b-1")
    assert keyed.ingest(batch([1.0]), source="edge-1", key="b-1").duplicate is False
    assert stored_values(site) == [1.0]


def test_a_claim_left_by_a_stopped_process_is_dropped_on_opening(site: Site) -> None:
    site.batches.register([(FLOW, "l/min", "")])
    site.store.execute(
        "INSERT INTO ingest_keys VALUES (?, ?, ?, ?, false, 0, 0, 0)",
        ["edge-1", "b-1", content_digest(batch([1.0])), START],
    )
    reopened = KeyedIngest(site.store, site.pipeline)
    assert reopened.ingest(batch([1.0]), source="edge-1", key="b-1").duplicate is False


def test_the_digest_is_of_the_content() -> None:
    assert content_digest(batch([1.0, 2.0])) == content_digest(batch([1.0, 2.0]))
    assert content_digest(batch([1.0, 2.0])) != content_digest(batch([1.0, 2.5]))
