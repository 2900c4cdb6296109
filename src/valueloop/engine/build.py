"""The jobs of a site, built from its description, in the order data flows through them.

For every asset and every analytic its type binds: an :class:`~valueloop.analytics.binding.
AnalyticsJob` reading the asset's signals and writing its derived series (registered here, with
their units, so that they can be trended and alarmed like any other series). Then one alarm job
for every alarm of the site's types and of the site itself, one job for the decision rules, the act
job, the measurement job when the site names value KPIs, and the jobs of every pack the site lists
(found by entry point, never imported). :func:`open_engine` puts them on a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.act.dispatch import DispatchBook, Dispatcher, secret_from_env
from valueloop.act.execute import Executor
from valueloop.act.job import ActJob
from valueloop.alarms.book import AlarmBook
from valueloop.alarms.definitions import (
    EventAlarm,
    LimitAlarm,
    LimitLevel,
    Priority,
    StaleAlarm,
)
from valueloop.alarms.job import AlarmJob
from valueloop.analytics.binding import AnalyticsJob, ResolvedBinding
from valueloop.analytics.catalogue import KINDS
from valueloop.analytics.versions import ModelVersions
from valueloop.config import AlarmSpec, BindingSpec
from valueloop.decide.job import RuleJob
from valueloop.decide.planner import PlannerJob, planner_outlooks
from valueloop.engine.book import JobBook
from valueloop.engine.clock import Clock
from valueloop.engine.job import Job
from valueloop.engine.scheduler import Engine
from valueloop.model.assets import SeriesSpec
from valueloop.model.site import Asset
from valueloop.packs.base import available_packs
from valueloop.site import Site
from valueloop.value.measure_job import MeasurementJob
from valueloop.value.plans import PlanBook

DEFAULT_RESAMPLE_GAPS = 5
"""A value is carried forward onto the grid for at most this many grid steps by default."""

ANALYTICS_LATENESS = timedelta(seconds=2)
"""How long a grid cell waits after its end before analytics read it: field readings reach the
store a moment after they are measured (a subscription's publishing interval, a batch), and a cell
read too early would be scored without them, differently from a later ``run`` over the same data."""

ALARM_LATENESS = ANALYTICS_LATENESS + timedelta(seconds=3)
"""Alarms read a little later still, so that the analytics' derived series are in the store."""


def derived_series(site: Site) -> list[SeriesSpec]:
    """The series every binding writes for every asset of its type, with their units."""
    specs = []
    for asset in site.model.assets.values():
        for binding in asset.type.analytics:
            unit = ""
            if binding.target is not None:
                unit = site.model.unit(asset.name, binding.target) or ""
            for output in KINDS.outputs(binding.kind):
                signal = f"{binding.name}_{output}"
                specs.append(
                    SeriesSpec(
                        site.model.path(asset.name, signal),
                        asset.name,
                        signal,
                        "" if output == "score" else unit,
                        f"{output} of {binding.kind} binding {binding.name}",
                    )
                )
    return specs


def _ids(site: Site, asset: str, signals: list[str]) -> tuple[int, ...]:
    paths = [site.model.path(asset, signal) for signal in signals]
    rows = site.registry.lookup(paths)
    return tuple(int(value) for value in rows.column("series_id").to_pylist())


def _forecast_period(binding: BindingSpec) -> timedelta | None:
    """A forecaster forecasts four times per horizon unless told otherwise (whole grid steps)."""
    if binding.horizon is None:
        return None
    steps = max(int(binding.horizon / binding.resample) // 4, 1)
    return binding.resample * steps


def resolve_binding(site: Site, asset: Asset, binding: BindingSpec) -> ResolvedBinding:
    """A binding of ``asset``'s type made concrete: its series ids and its job settings."""
    inputs = binding.signals if KINDS.role(binding.kind) == "detector" else binding.inputs
    outputs = [f"{binding.name}_{output}" for output in KINDS.outputs(binding.kind)]
    output_ids = _ids(site, asset.name, outputs)
    target = _ids(site, asset.name, [binding.target])[0] if binding.target else None
    return ResolvedBinding(
        name=binding.name,
        kind=binding.kind,
        asset=asset.name,
        inputs=_ids(site, asset.name, list(inputs)),
        input_names=tuple(inputs),
        target=target,
        target_name=binding.target,
        outputs=dict(zip(KINDS.outputs(binding.kind), output_ids, strict=True)),
        params=dict(binding.params),
        window=binding.fit.window,
        refit_every=binding.fit.every,
        resample=binding.resample,
        max_gap=binding.max_gap or binding.resample * DEFAULT_RESAMPLE_GAPS,
        min_points=binding.fit.min_points,
        threshold=binding.threshold,
        horizon=binding.horizon,
        predict_every=binding.predict_every or _forecast_period(binding),
        every=binding.every or max(binding.resample, timedelta(seconds=1)),
        lateness=ANALYTICS_LATENESS,
    )


def analytics_jobs(site: Site) -> list[Job]:
    """One job per binding per asset."""
    versions = ModelVersions(site.store)
    return [
        AnalyticsJob(
            site.points,
            resolve_binding(site, asset, binding),
            versions,
            reached=site.pipeline.arrivals.reached,
        )
        for asset in site.model.assets.values()
        for binding in asset.type.analytics
    ]


def _alarm_points(site: Site, asset: Asset, spec: AlarmSpec) -> Iterator[LimitAlarm | StaleAlarm]:
    if spec.stale is not None:
        signals = list(spec.stale.signals)
        intervals = [asset.type.signals[signal].expected_interval for signal in signals]
        expected = spec.stale.expected_interval or min(i for i in intervals if i is not None)
        yield StaleAlarm(
            name=spec.name,
            asset=asset.name,
            signals=tuple(signals),
            series_ids=_ids(site, asset.name, signals),
            expected_interval=expected,
            intervals=spec.stale.intervals,
            priority=Priority(spec.priority),
            description=spec.description,
        )
        return
    if spec.analytics is not None:
        binding = next(b for b in asset.type.analytics if b.name == spec.analytics)
        signal, levels = f"{binding.name}_score", {"hi": binding.threshold}
    else:
        assert spec.signal is not None and spec.limits is not None
        signal, levels = spec.signal, spec.limits.levels()
    series_id = _ids(site, asset.name, [signal])[0]
    priorities = {str(level): priority for level, priority in spec.priorities.items()}
    for level, limit in levels.items():
        yield LimitAlarm(
            name=spec.name,
            asset=asset.name,
            signal=signal,
            series_id=series_id,
            level=cast(LimitLevel, level),
            limit=limit,
            priority=Priority(priorities.get(level, spec.priority)),
            on_delay=spec.on_delay,
            off_delay=spec.off_delay,
            deadband=spec.deadband,
            description=spec.description,
        )


def alarm_points(site: Site) -> list[LimitAlarm | StaleAlarm]:
    """Every alarm point of the site: its types' alarms on each asset, then its own."""
    points: list[LimitAlarm | StaleAlarm] = []
    for asset in site.model.assets.values():
        for spec in asset.type.alarms:
            points.extend(_alarm_points(site, asset, spec))
    for spec in site.config.alarms:
        for name in spec.assets or []:
            points.extend(_alarm_points(site, site.model.assets[name], spec))
    return points


def _latest(site: Site, asset: str, signal: str) -> float | None:
    series = _ids(site, asset, [signal])
    latest = site.points.latest(list(series))
    if latest.num_rows == 0:
        return None
    value = latest.column("value")[0].as_py()
    return None if value is None else float(value)


def _rows(site: Site, asset: str, signal: str, after: datetime, until: datetime) -> pa.Table:
    """Rows (ts, value) of a signal or derived series of ``asset`` in (after, until]."""
    series = _ids(site, asset, [signal])
    rows = site.points.read(list(series), after, until)
    return rows.select(["ts", "value"]).filter(pc.greater(rows["ts"], pa.scalar(after)))


def site_jobs(site: Site) -> list[Job]:
    """Every job of the site, in data-flow order: analytics, alarms, rules, planners, packs."""
    site.registry.ensure(derived_series(site))
    jobs: list[Job] = analytics_jobs(site)
    points = alarm_points(site)
    if points:
        book = AlarmBook(site.store)
        jobs.append(
            AlarmJob(
                site.points,
                book,
                [p for p in points if isinstance(p, LimitAlarm)],
                [p for p in points if isinstance(p, StaleAlarm)],
                lateness=ALARM_LATENESS,
                writes=site.pipeline.arrivals.watch().take,
            )
        )
    if site.config.decisions.rules:
        book = AlarmBook(site.store)
        jobs.append(
            RuleJob(
                site.model,
                site.config.decisions.rules,
                site.work_orders,
                book.raised_or_open,
                lambda asset, signal, after, until: _rows(site, asset, signal, after, until),
                lambda asset, signal: _latest(site, asset, signal),
                site.actions_at,
            )
        )
    for planner in site.config.decisions.planners:
        if planner.by is not None:
            continue  # run by its pack, among the pack's jobs
        jobs.append(
            PlannerJob(
                site.model,
                planner,
                site.work_orders,
                planner_outlooks(
                    site.model,
                    planner,
                    site.predictions.latest,
                    AlarmBook(site.store).raised_between,
                ),
            )
        )
    jobs.append(act_job(site))
    if site.config.value.kpis:
        jobs.append(measurement_job(site))
    packs = available_packs()
    for name in site.config.packs:
        pack = packs[name]
        if pack.jobs is not None:
            jobs.extend(pack.jobs(site))
    return jobs


def act_job(site: Site) -> ActJob:
    """The job acting on the site's approved work orders, with its alarms and connectors."""
    book = AlarmBook(site.store)

    def raise_alarm(asset: str, name: str, description: str, at: datetime) -> None:
        book.raise_event(EventAlarm(name, asset, Priority.HIGH, description), at)

    webhook = site.config.maintenance.webhook
    dispatcher = (
        None
        if webhook is None
        else Dispatcher(
            webhook,
            secret_from_env(webhook),
            DispatchBook(site.store),
            site=site.model.name,
            currency=site.config.site.currency,
        )
    )
    desk = site.actions
    return ActJob(
        desk,
        Executor(site.work_orders, site.model, site.config.policy, site.field, raise_alarm),
        lambda asset, signal, after, until: _rows(site, asset, signal, after, until),
        raise_alarm,
        dispatcher,
    )


def measurement_job(site: Site) -> MeasurementJob:
    """The job planning and measuring the verified savings of the site's executed actions."""

    def reader(asset: str, signal: str, start: datetime, end: datetime) -> pa.Table:
        return site.points.read(list(_ids(site, asset, [signal])), start, end)

    config = site.config
    return MeasurementJob(
        config.value,
        site.work_orders,
        PlanBook(site.store),
        site.ledger,
        reader,
        site.model.unit,
        timezone=config.site.timezone,
        tariffs={
            name: (tariff.price, tariff.unit.split("/", 1)[0])
            for name, tariff in config.tariffs.items()
        },
        currency=config.site.currency,
    )


def open_engine(site: Site, clock: Clock) -> Engine:
    """The site's jobs on ``clock``, their watermarks kept in the site's books."""
    return Engine(JobBook(site.store), site_jobs(site), clock=clock)
