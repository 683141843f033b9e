"""Capacity: demand, forecasts, client profiles, allocations and the meters that hold them."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import cast

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.config.model import AllocationSettings, Config
from sdn_shadow.core.derive import edits
from sdn_shadow.core.model import Updates
from sdn_shadow.core.reconcile import meter_changes
from sdn_shadow.demand import Demand, client_key, network_key
from sdn_shadow.forecast.live_calibration import Calibration
from sdn_shadow.forecast.live_period import PeriodChoice
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import Fitted, FittedModel, ForecastJob, SeriesForecastView
from sdn_shadow.openflow.compiler import SwitchPlan
from sdn_shadow.policy.allocation import Allocation, AllocationPolicy, Allocator
from sdn_shadow.telemetry.decode import FlowStats, MeterStats
from sdn_shadow.telemetry.profiles import ProfileBook

FORECAST_SERIES = ("network:", "client:", "link:")  # port series are not forecast


@lru_cache(maxsize=1024)
def allocation_policy(settings: AllocationSettings, level: float) -> AllocationPolicy:
    """The allocation policy for a shadow's settings (Mbit/s in config, bytes/s inside);
    kept: both are frozen values, and most shadows share their settings."""
    to_bytes = 1e6 / 8
    return AllocationPolicy(
        settings.strategy, settings.floor * to_bytes, settings.hysteresis,
        settings.forecast_only, level,
        instance_capacity=(settings.instance_capacity * to_bytes
                           if settings.instance_capacity else None),
        instances=settings.instances)


def allocation_policies(config: Config) -> dict[str, AllocationPolicy]:
    """Each shadowed network's allocation policy."""
    return {n.name: allocation_policy(n.shadow.allocation, config.forecast.level)
            for n in config.networks if n.shadow is not None}


class Capacity:
    """What the shadows need and hold: rates, forecasts, profiles, allocations, policing."""

    def __init__(self, config: Config, plans: dict[int, SwitchPlan]) -> None:
        self.config = config
        self.demand = Demand(config, plans)
        self.allocator = Allocator(allocation_policies(config))
        self.forecasts: dict[str, SeriesForecastView] = {}
        self.profile_only: frozenset[str] = frozenset()  # from a profile, no history
        self.allocations: dict[str, Allocation] = {}
        self.forecast_at: float | None = None
        self.profiles = ProfileBook(period=config.forecast.period, n_bins=24)
        self.prior: NDArray[np.float64] | None = None  # population prior of clients
        self.models: dict[str, FittedModel] = {}  # kept between rounds, by slot
        self.sources: dict[str, str] = {}  # the slot whose model forecast each series
        self.periods: dict[str, PeriodChoice] = {}  # the period each series uses, and why
        self.calibration: Calibration | None = None  # live recalibration of the intervals
        self.policed: dict[str, dict[str, int]] = {}  # best-effort meter counters

    def reloaded(self, config: Config, plans: dict[int, SwitchPlan]) -> Capacity:
        """A copy for a new configuration: rates, forecasts, profiles and scores carry over."""
        new = copy.copy(self)
        new.config = config
        new.allocator = self.allocator.retuned(
            _policies_from(self.config, self.allocator.policies, config)
            or allocation_policies(config))
        new.allocations = {k: v for k, v in self.allocations.items()
                           if k in new.allocator.policies}
        if (config.switches, config.links) == (self.config.switches, self.config.links):
            new.demand = copy.copy(self.demand)  # the fabric's ports stay; networks follow
            new.demand.networks = _network_series(config, self.config, self.demand.networks)
        else:
            new.demand = Demand(config, plans)
            new.demand.ports, new.demand.flows, new.demand.latest = (
                self.demand.ports, self.demand.flows, self.demand.latest)
        return new

    def track(self, plans: dict[int, SwitchPlan], changed: Iterable[int] | None) -> None:
        """Demand follows the plans' cookies (`changed`: the switches whose plans changed,
        None: any may have). Each switch's table reads its plan's demand as it is, so a
        change costs nothing here unless a switch's plan is a new object."""
        if changed is None:
            self.demand.track(plans)
        tables = cast(dict[int, Mapping[int, str]], self.demand.clients)
        if any(not _reads(tables.get(dpid), plan) for dpid, plan in plans.items()):
            tables = {dpid: tables[dpid] if _reads(tables.get(dpid), plan)
                      else _ClientKeys(plan.demand) for dpid, plan in plans.items()}
            self.demand.clients = cast(dict[int, dict[int, str]], tables)

    @property
    def step_seconds(self) -> float:
        """Spacing of demand series points: the flow stats poll interval."""
        return self.config.telemetry.flow_interval

    def forecaster(self) -> SlidingWindowForecaster:
        """A forecaster configured from the `forecast` settings, in series steps."""
        fc, step = self.config.forecast, self.step_seconds
        period = None if fc.period is None else max(1, round(fc.period / step))
        return SlidingWindowForecaster(window=fc.window, period=period, n_periods=2,
                                       horizon_seconds=fc.horizon, step_seconds=step,
                                       log=fc.log, level=fc.level)

    def history_needed(self) -> int:
        """Points a series needs before it can be forecast with a finite interval.

        Split-conformal needs at least 1/(1 - level) held-out residuals for its
        quantile to be finite (10 at 90%), and they are the newest
        `calibration_fraction` of the rows the lags leave.
        """
        model = self.forecaster()
        spec = model.lag_spec()
        calibration = math.ceil(1.0 / (1.0 - model.level)) + 1
        rows = max(16, math.ceil(calibration / model.calibration_fraction))
        return int(spec.lookback + rows)

    def forecast_inputs(self, series: Iterable[str]) -> tuple[list[str], int]:
        """Which of the stored series to forecast, and how many points of each to read."""
        keys = [k for k in series if k.startswith(FORECAST_SERIES)]
        depth = min(self.config.telemetry.window, max(self.history_needed(), 256))
        return keys, depth

    def forecast_job(self) -> ForecastJob:
        """What a forecast round's model work needs, copied: run it outside the lock."""
        fc = self.config.forecast
        return ForecastJob(self.forecaster(), self.history_needed(), fc.max_growth,
                           self.prior, dict(self.models), fc.refit, dict(self.periods),
                           self.forecast_inputs(())[1], self.config.telemetry.window,
                           fc.period_check, calibration=self.calibration)

    def take_forecasts(self, now: float, fitted: Fitted) -> dict[str, Allocation]:
        """A round's model forecasts plus profile forecasts of clients too young for a
        model; then each shadow's allocation sized from its network's forecast."""
        forecasts = dict(fitted.forecasts)
        if fitted.prior is not None:
            self.prior = fitted.prior
        self.models, self.sources = dict(fitted.models), dict(fitted.sources)
        self.periods, self.calibration = dict(fitted.periods), fitted.calibration
        rest = [k for k in self.profiles.client_keys() if k not in forecasts]
        if rest:
            fc = self.config.forecast
            for key, p, lo, hi in zip(rest, *self.profiles.forecast(rest, now + fc.horizon,
                                                                    fc.level), strict=True):
                if np.isfinite([p, lo, hi]).all():
                    forecasts[key] = SeriesForecastView(float(p), float(lo), float(hi))
        self.forecasts = forecasts
        self.profile_only = frozenset(rest) & forecasts.keys()
        self.forecast_at = now
        for network in self.allocator.policies:
            key = network_key(network)
            actual = self.demand.latest.get(key)
            if actual is not None:
                self.allocator.observe(now, network, actual)
            f = self.forecasts.get(key)
            if f is not None:
                self.allocations[network] = self.allocator.decide(
                    now, network, f.point, f.upper, self.config.forecast.horizon)
        return self.allocations

    def held(self) -> dict[str, float]:
        """Bytes/s each shadow network holds on its links now (forecast_only ones hold none)."""
        return {name: a.held for name, a in self.allocations.items() if a.install}

    def allocation_messages(self, plans: Mapping[int, SwitchPlan]) -> Updates:
        """Meter modifies that make every switch hold the current allocations (and the
        plans record the rates)."""
        held = self.held()
        out: Updates = {}
        for dpid, plan in plans.items():
            want = {spec.meter_id: plan.best_effort_meter(spec, held)
                    for spec in plan.best_effort.values()}
            msgs = meter_changes(plan.meters, want)
            if msgs:
                plan.meters.update(want)
                out[dpid] = msgs
        return out

    def meter_stats(self, plan: SwitchPlan, stats: MeterStats) -> None:
        """What each best-effort meter of `plan` let in and what it dropped."""
        specs = {spec.meter_id: spec for spec in plan.best_effort.values()}
        for i, meter_id in enumerate(stats.meter_id.tolist()):
            spec = specs.get(meter_id)
            if spec is None:
                continue
            _, band_bytes = stats.bands(i)
            key = f"{spec.network}@{spec.link[0]}>{spec.link[1]}"
            self.policed[key] = {"bytes": int(stats.byte_in_count[i]),
                                 "dropped_bytes": int(band_bytes.sum())}

    def flow_demand(self, now: float, dpid: int, stats: FlowStats) -> dict[str, float]:
        """Client and network rates from a flow stats reply; clients' profiles learn them."""
        values = self.demand.flow_stats(now, dpid, stats)
        self.profiles, _ = self.profiles.observe(now, values)
        return values


def _policies_from(was: Config, policies: dict[str, AllocationPolicy], config: Config
                   ) -> dict[str, AllocationPolicy] | None:
    """`allocation_policies(config)` from `was`'s (`policies`), when a few networks changed
    and kept or lacked their shadow, or shadowed ones were added; None: work them out."""
    changed = edits(was.networks, config.networks)
    if changed is None or was.forecast.level != config.forecast.level:
        return None
    out = dict(policies)
    for old, net in changed:
        if old is not None and (old.shadow is None) != (net.shadow is None):
            return None  # a shadow came or went in place: its place in the order moves
        if net.shadow is not None:
            out[net.name] = allocation_policy(net.shadow.allocation, config.forecast.level)
    return out


def _network_series(config: Config, was: Config, series: dict[str, list[str]]
                    ) -> dict[str, list[str]]:
    """Each network's client tx series (`Demand.networks`), kept for networks that stay."""
    changed = edits(was.networks, config.networks)
    if changed is not None and len(series) == len(was.networks):  # a few edited or added
        out = dict(series)
        for _, net in changed:
            out[network_key(net.name)] = [client_key(net.name, h.name, "tx") for h in net.hosts]
        return out
    old = {n.name: n for n in was.networks}
    out = {}
    for net in config.networks:
        key = network_key(net.name)
        if old.get(net.name) is net and key in series:
            out[key] = series[key]
        else:
            out[key] = [client_key(net.name, h.name, "tx") for h in net.hosts]
    return out


class _ClientKeys(Mapping[int, str]):
    """A switch's demand cookies -> client series keys, read from its plan as it is now."""

    def __init__(self, demand: Mapping[int, tuple[str, str, str]]) -> None:
        self.demand = demand

    def __getitem__(self, cookie: int) -> str:
        return client_key(*self.demand[cookie])

    def __contains__(self, cookie: object) -> bool:
        return cookie in self.demand

    def __iter__(self) -> Iterator[int]:
        return iter(self.demand)

    def __len__(self) -> int:
        return len(self.demand)


def _reads(table: Mapping[int, str] | None, plan: SwitchPlan) -> bool:
    return isinstance(table, _ClientKeys) and table.demand is plan.demand
