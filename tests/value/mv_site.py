"""A building site whose meter verifies a set-point change, fed with opendsm's sample meter.

The readings are opendsm's sample ``il-electricity-cdd-hdd-daily`` (``opendsm.eemeter.samples``):
daily kWh that opendsm simulates (its ``load_sample`` says "samples are simulated, not real,
data") from the real hourly temperatures of weather station 724390 (Illinois), with a saving of
10 % injected by opendsm from the end of the sample's blackout on (its metadata: an annual load
of 10,000 kWh before, 9,000 kWh after). This is an injected case: the set-point change below is
executed at the blackout's end, so the saving the measurement must find is opendsm's injected
one. The sample's dates are moved forward by whole days (``SHIFT``) so that the reporting window
falls in 2027; nothing else is changed.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as csv
import pytest

from valueloop.act.workorders import OrderStatus
from valueloop.site import Site, open_site

SHIFT = datetime(2027, 1, 4, tzinfo=UTC) - datetime(2017, 1, 4, tzinfo=UTC)
"""Moves the sample's blackout end (2017-01-04) to 2027-01-04."""
EXECUTED_AT = datetime(2027, 1, 4, 15, 30, tzinfo=UTC)
"""When the set-point change takes effect (in the sample: the first day of the saving)."""
INJECTED_FRACTION = 0.10
"""opendsm's injected saving after the blackout."""
TARIFF = 0.25
EXPECTED_VALUE = 180.0

SITE = """
site: {name: campus, currency: EUR, timezone: America/Chicago}
asset_types:
  building:
    signals:
      energy: {unit: kWh, description: energy used since the previous reading}
      outdoor_temperature: {unit: degF}
    setpoints:
      cooling_setpoint: {unit: degC, min: 18, max: 28, max_step: 3}
assets:
  - {path: north/main/hall, type: building}
tariffs:
  electricity: {price: 0.25, unit: EUR/kWh}
value:
  measurement: {reference: 365d, reporting: 90d, min_reporting: 30d, confidence: 0.9}
  kpis:
    - name: hall_energy
      asset: hall
      signal: energy
      regressors: {temperature: {asset: hall, signal: outdoor_temperature}}
      baseline: {kind: changepoint_daily}
      tariff: electricity
  contracts:
    - id: ESC-7
      kind: shared_savings
      provider: Northwind Energy Services
      client: Campus Facilities
      kpis: [hall_energy]
      start: 2027-01-01
      end: 2028-01-01
      provider_share: 0.5
"""


def _points(site: Site, signal: str, ts: np.ndarray, values: np.ndarray) -> None:
    path = site.model.path("hall", signal)
    series_id = site.registry.lookup([path]).column("series_id")[0].as_py()
    keep = np.isfinite(values)
    site.points.write(
        pa.table(
            {
                "series_id": pa.array(np.full(int(keep.sum()), series_id), pa.int32()),
                "ts": pa.array(ts[keep], pa.timestamp("us", tz="UTC")),
                "value": pa.array(values[keep], pa.float64()),
                "quality": pa.array(np.zeros(int(keep.sum())), pa.uint8()),
            }
        )
    )


def sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Times (UTC, shifted by :data:`SHIFT`) and values of one of opendsm's sample files, read
    without importing opendsm (whose import takes seconds)."""
    found = importlib.util.find_spec("opendsm")
    if found is None or found.origin is None:
        pytest.skip("opendsm (a test extra) ships the sample meter data")
    table = csv.read_csv(Path(found.origin).parent / "eemeter" / "samples" / name)
    times = table.column(0).cast(pa.timestamp("us", tz="UTC")).to_numpy()
    shift = np.timedelta64(SHIFT // timedelta(microseconds=1), "us")
    values = table.column(1).cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(times, "datetime64[us]") + shift, np.asarray(values, np.float64)


def open_mv_site(folder: Path) -> Site:
    """The site with the sample's daily kWh and hourly °F in its store, dates shifted."""
    path = folder / "site.yaml"
    path.write_text(SITE)
    site = open_site(path, folder / "data")
    _points(site, "energy", *sample("il-electricity-cdd-hdd-daily.csv.gz"))
    _points(site, "outdoor_temperature", *sample("il-tempF.csv.gz"))
    return site


def executed_change(site: Site) -> str:
    """Propose, approve and execute a cooling set-point change at :data:`EXECUTED_AT`.

    The moves are the work-order book's own, as the act job makes them once the field has read
    the new value back; the building has no field server here.
    """
    read_at = np.array([np.datetime64(EXECUTED_AT.replace(tzinfo=None) - timedelta(hours=2), "us")])
    _points(site, "cooling_setpoint", read_at, np.array([22.0]))
    desk = site.actions_at(EXECUTED_AT - timedelta(hours=1))
    order = desk.propose_setpoint(
        "hall",
        "cooling_setpoint",
        target=24.0,
        reason="raise the cooling set-point by 2 °C",
        expected_value=EXPECTED_VALUE,
        actor="olga",
    )
    order_id = str(order["order_id"])
    site.actions_at(EXECUTED_AT).approve(order_id, actor="ann", role="approver")
    for status in (OrderStatus.EXECUTING, OrderStatus.EXECUTED):
        site.work_orders.transition(order_id, status, actor="policy", at=EXECUTED_AT)
    return order_id
