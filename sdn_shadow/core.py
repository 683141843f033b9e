"""ShadowCore: switch events in, OpenFlow messages out; no OS-Ken imports, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from sdn_shadow.analytics.live import Decoded
from sdn_shadow.config.model import AllocationSettings, Config, Network
from sdn_shadow.demand import Demand, network_key
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import Fitted, ForecastJob, SeriesForecastView
from sdn_shadow.intents import Client, Intents
from sdn_shadow.openflow.compiler import (
    Link,
    ShadowPaths,
    SourceLimit,
    SwitchPlan,
    shadow_paths,
)
from sdn_shadow.openflow.incremental import Inputs, Planner, SwitchDelta
from sdn_shadow.openflow.messages import (
    Barrier,
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    Match,
    Message,
    Meter,
    MeterAdd,
    MeterDelete,
    MeterModify,
)
from sdn_shadow.policy.allocation import Allocation, AllocationPolicy, Allocator
from sdn_shadow.policy.health import Decision, HealthMachine, HealthPolicy, ProbeCounter
from sdn_shadow.policy.preempt import Decision as PreemptDecision
from sdn_shadow.policy.preempt import Preempter, PreemptPolicy
from sdn_shadow.policy.response import Block
from sdn_shadow.policy.routing import Planned, preempt_inputs
from sdn_shadow.policy.takeover import active_hosts, serving, standable, swapped
from sdn_shadow.policy.watch import Destination, ShadowWatch, watched
from sdn_shadow.probe import arp_probe, probe_answer
from sdn_shadow.telemetry.decode import FlowStats, MeterStats
from sdn_shadow.telemetry.profiles import ProfileBook
from sdn_shadow.topology import Fabric

FlowKey = tuple[int, int, Match]
FORECAST_SERIES = ("network:", "client:", "link:")  # port series are not forecast


@dataclass(frozen=True, slots=True)
class InstalledFlow:
    """A flow as read back from a switch: its key and cookie (and counters)."""

    table_id: int
    priority: int
    match: Match
    cookie: int
    packets: int = 0
    bytes: int = 0

    @property
    def key(self) -> FlowKey:
        """Table, priority, match."""
        return (self.table_id, self.priority, self.match)


@dataclass(frozen=True, slots=True)
class GroupCounters:
    """Counters of one group read back from a switch, per bucket."""

    group_id: int
    buckets: tuple[tuple[int, int], ...]  # (packets, bytes) per bucket


@dataclass(slots=True)
class SwitchState:
    """What the core knows about one switch."""

    dpid: int
    name: str
    connected: bool = False
    synced: bool = False
    connected_at: float | None = None
    synced_at: float | None = None
    flows: int = 0
    groups: int = 0
    meters: int = 0
    last_sync: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class MirrorCounters:
    """Packets and bytes a mirror session copied (bytes before truncation)."""

    packets: int = 0
    bytes: int = 0

    def add(self, packets: int, nbytes: int) -> None:
        """Add one counter pair."""
        self.packets += packets
        self.bytes += nbytes


class UnknownSwitch(KeyError):
    """A datapath that is not in the configuration."""


class ReloadRefused(ValueError):
    """A new configuration that cannot be taken live (the running one stays)."""


def link_name(link: Link) -> str:
    """A fabric link as events and the state file name it: `s1-s2`."""
    return "-".join(sorted(link))


def allocation_policy(settings: AllocationSettings, level: float) -> AllocationPolicy:
    """The allocation policy for a shadow's settings (Mbit/s in config, bytes/s inside)."""
    to_bytes = 1e6 / 8
    return AllocationPolicy(
        settings.strategy, settings.floor * to_bytes, settings.hysteresis,
        settings.forecast_only, level,
        instance_capacity=(settings.instance_capacity * to_bytes
                           if settings.instance_capacity else None),
        instances=settings.instances)


class ShadowCore:
    """Desired switch state, reconciliation, counters, demand and forecasts; decisions only."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.config_moved = _config_moved(config)
        self.config_steered = _config_steered(config)
        self.intents = Intents(shadow_path=self.config_moved, twin_service=self.config_steered)
        self.watch = ShadowWatch(config)  # live detection on the copies, and the response
        self.fabric = Fabric(config)
        self.shadow_paths = shadow_paths(config, self.fabric)
        self.standable, self.probe_targets = _probe_index(config, self.intents.roles_swapped)
        self.planner = Planner(config)
        self.served: frozenset[tuple[str, str]] = frozenset()
        self.served = self._planned(self.planner, self.intents, config, self.fabric,
                                    self.shadow_paths, held={})[1]
        self.plans: dict[int, SwitchPlan] = self.planner.by_dpid()
        fo = config.failover
        self.health = HealthMachine(HealthPolicy(fo.wait_to_restore, fo.hold))
        self.probes = ProbeCounter(fo.probe_misses)
        self.probed_at: float | None = None
        self._all_served: frozenset[str] = self._networks_served()
        self.fabric_ports, self.link_ends = _fabric_index(config)
        self.port_live: dict[tuple[int, int], bool] = {}
        self.bfd_enabled: set[tuple[int, int]] = set()
        self.policed: dict[str, dict[str, int]] = {}  # best-effort meter counters
        rt = config.routing
        self.preempter = Preempter(PreemptPolicy(rt.upper, rt.lower, rt.hold))
        self.switches = {
            dpid: SwitchState(dpid, plan.name) for dpid, plan in self.plans.items()
        }
        self._group_counters: dict[int, dict[int, tuple[int, int]]] = {}
        self._flow_counters: dict[int, dict[FlowKey, tuple[int, int]]] = {}
        self.demand = Demand(config, self.plans)
        self.allocator = Allocator({
            n.name: allocation_policy(n.shadow.allocation, config.forecast.level)
            for n in config.networks if n.shadow is not None
        })
        self.forecasts: dict[str, SeriesForecastView] = {}
        self.profile_only: frozenset[str] = frozenset()  # forecast from a profile, no history
        self.allocations: dict[str, Allocation] = {}
        self.forecast_at: float | None = None
        self.events: list[dict] = []
        self.ldap_failing: set[str] = set()  # networks whose last LDAP mirror round failed
        self.scaling: dict[str, int] = {}  # shadow resource -> instances requested now
        self.reloads: dict = {"generation": 0, "at": None, "errors": []}
        self.profiles = ProfileBook(period=config.forecast.period, n_bins=24)
        self.prior: np.ndarray | None = None  # population prior of established clients

    # Read-only views of the intents, by their older names.
    @property
    def moved(self) -> frozenset[tuple[str, str]]:
        """Clients on their shadow paths."""
        return self.intents.shadow_path

    @property
    def steered(self) -> frozenset[tuple[str, str]]:
        """Clients whose new connections go to the service hosts' twins."""
        return self.intents.twin_service

    @property
    def failed(self) -> frozenset[Link]:
        """Fabric links failed over."""
        return self.intents.failed_links

    @property
    def taken_over(self) -> frozenset[tuple[str, str]]:
        """Primary hosts their twins serve."""
        return self.intents.taken_over

    @property
    def swapped(self) -> frozenset[tuple[str, str]]:
        """Hosts whose twin is the primary."""
        return self.intents.roles_swapped

    @property
    def activated(self) -> frozenset[str]:
        """Networks whose shadow serves by decision (not by configuration)."""
        return self.intents.shadow_active

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
        return spec.lookback + rows

    def forecast_inputs(self, series: Iterable[str]) -> tuple[list[str], int]:
        """Which of the stored series to forecast, and how many points of each to read."""
        keys = [k for k in series if k.startswith(FORECAST_SERIES)]
        depth = min(self.config.telemetry.window, max(self.history_needed(), 256))
        return keys, depth

    def forecast_job(self) -> ForecastJob:
        """What a forecast round's model work needs, copied: run it outside the lock."""
        return ForecastJob(self.forecaster(), self.history_needed(),
                           self.config.forecast.max_growth, self.prior)

    def forecast(self, now: float, keys: list[str], history: np.ndarray) -> dict[str, Allocation]:
        """Forecast each series with enough history, then size each shadow's allocation.

        `history` has a row per key, oldest point first, NaN where a series has
        no point. (The app runs `forecast_job().run` outside its lock and then
        `take_forecasts`; this does both.)
        """
        return self.take_forecasts(now, self.forecast_job().run(keys, history))

    def take_forecasts(self, now: float, fitted: Fitted) -> dict[str, Allocation]:
        """A round's model forecasts: add profile forecasts of clients too young for a
        model, then size each shadow's allocation from its network's forecast."""
        forecasts = dict(fitted.forecasts)
        if fitted.prior is not None:
            self.prior = fitted.prior
        # Clients too young even for that are forecast from their profile alone.
        rest = [k for k in self.profiles.client_keys() if k not in forecasts]
        if rest:
            target = now + self.config.forecast.horizon
            for key, p, lo, hi in zip(rest, *self.profiles.forecast(rest, target, self.config
                                                                    .forecast.level),
                                      strict=True):
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

    def plan(self, dpid: int) -> SwitchPlan:
        """The desired state of switch `dpid` (UnknownSwitch if not configured)."""
        try:
            return self.plans[dpid]
        except KeyError:
            raise UnknownSwitch(dpid) from None

    def switch_connected(self, now: float, dpid: int) -> None:
        """Record a (re)connection; the switch is unsynced until its barrier returns."""
        state = self.switches[self.plan(dpid).dpid]
        state.connected, state.synced, state.connected_at = True, False, now

    def switch_disconnected(self, now: float, dpid: int) -> None:
        """Record a disconnection (the switch keeps its flows: fail_mode=secure)."""
        if dpid in self.switches:
            self.switches[dpid].connected = False
            self.switches[dpid].synced = False

    def reconcile(
        self,
        now: float,
        dpid: int,
        installed_flows: Iterable[InstalledFlow],
        installed_groups: Iterable[int],
        installed_meters: Iterable[Meter] = (),
    ) -> list[Message]:
        """Messages that bring switch `dpid` from what it has to exactly the desired state.

        Order is make-before-break: new groups and meters (and meter rate
        changes), then new or changed flows (an add replaces an entry with the
        same key atomically), then stale flows, then stale groups and meters
        once nothing points at them, then a barrier. Flows whose cookie already
        equals the desired one are left alone, so reconnecting changes nothing
        and interrupts nothing.
        """
        plan = self.plan(dpid)
        have = {f.key: f.cookie for f in installed_flows}
        have_groups = set(installed_groups)
        have_meters = {m.meter_id: m for m in installed_meters}
        if not self.allocations:
            # A restarted controller has not forecast yet: keep the holds the switch
            # enforces (its last good state) until the first allocation round.
            for meter_id in plan.meters.keys() & have_meters.keys():
                plan.meters[meter_id] = have_meters[meter_id]
        msgs, added = _changes(plan, have, have_groups, have_meters)
        msgs.append(Barrier())
        state = self.switches[dpid]
        state.last_sync = {"added": added, "deleted": len(msgs) - 1 - added}
        return msgs

    def _shadowed(self, network: str, host: str) -> Network:
        """Network `network`, which must have a shadow and primary host `host` (ValueError)."""
        net = self._shadowed_network(network)
        if host not in {h.name for h in net.hosts}:
            raise ValueError(f"{network}: no primary host {host}")
        return net

    def set_client_path(self, now: float, network: str, host: str, path: str,
                        reason: str) -> dict[int, list[Message]]:
        """Move a client's traffic (both ways) onto its shadow paths or back; edge rules only.

        Returns the messages per switch (empty when nothing changes) and records
        the change as an event with its reason.
        """
        self._shadowed(network, host)
        intents = self.intents.with_client_path((network, host), path)
        if intents.shadow_path == self.intents.shadow_path:
            return {}
        out = self._replan(intents)
        self.events.append({"t": now, "kind": "move", "network": network, "client": host,
                            "path": path, "reason": reason})
        return out

    def set_client_service(self, now: float, network: str, host: str, service: str,
                           reason: str) -> dict[int, list[Message]]:
        """Send a client's *new* connections to the service hosts' twins, or to the hosts again.

        One entry per service host changes; established connections keep
        their endpoint (connection tracking). Returns the messages per switch
        (empty when nothing changes) and records an event with the reason.
        """
        net = self._shadowed(network, host)
        intents = self.intents.with_client_service((network, host), service)
        if service == "twin" and not net.shadow.services:
            raise ValueError(f"{network}: no service hosts (shadow.services) to steer to")
        if intents.twin_service == self.intents.twin_service:
            return {}
        out = self._replan(intents)
        self.events.append({"t": now, "kind": "steer", "network": network, "client": host,
                            "service": service, "reason": reason})
        return out

    def preempt(self, now: float) -> dict[int, list[Message]]:
        """Move clients off links forecast to cross `routing.upper`, and back (hysteresis).

        Runs after each forecast round; the moves are ordinary client path
        moves (make-before-break) with the numbers behind them as the reason.
        Clients placed by config are left where the config put them. Series
        forecast from a client profile alone (too young for the model) are not
        acted on: a client seen for a few seconds has an interval as wide as
        its profile's prior, and traffic is not moved on that.
        """
        if not self.config.routing.enabled or not self.forecasts:
            return {}
        weights = {name: self.allocator.weight(name) for name in self.allocator.policies}
        relieved = self.preempter.relieved()
        inputs = preempt_inputs(
            self.config, self.fabric, self.shadow_paths,
            {k: Planned(f.point, f.upper) for k, f in self.forecasts.items()
             if k not in self.profile_only}, weights,
            frozenset(r.client for r in relieved if r.relief == "path"))
        placed = {"link": self.config_moved, "service": self.config_steered}
        kinds = {r.key: r.kind for r in inputs.resources}
        decisions = self.preempter.decide(
            now, inputs.resources,
            [c for c in inputs.contributions if c.client not in placed[kinds[c.resource_key]]],
            inputs.shadow,
            [d for d in inputs.detours
             if d.client not in (self.config_steered if d.service else self.config_moved)])
        out: dict[int, list[Message]] = {}
        self._scaling_events(now, [d for d in decisions if d.kind == "scale"])
        twins_kept = {r.client for r in self.preempter.relieved() if r.relief == "twin"}
        for d in decisions:
            if d.kind == "scale":
                continue
            network, host = d.client
            if d.relief == "path":
                changes = self.set_client_path(now, network, host,
                                               "shadow" if d.kind == "move" else "primary",
                                               f"preempt: {d.reason}")
            elif d.kind == "move" or d.client not in twins_kept:
                changes = self.set_client_service(now, network, host,
                                                  "twin" if d.kind == "move" else "primary",
                                                  f"preempt: {d.reason}")
            else:
                continue  # still relieving another service host
            for dpid, msgs in changes.items():
                out.setdefault(dpid, []).extend(msgs)
        return out

    def _scaling_events(self, now: float, scales: list[PreemptDecision]) -> None:
        """Record a scaling request when it appears, changes size or clears; not every round."""
        requested = {d.resource: d.instances for d in scales}
        for d in scales:
            if self.scaling.get(d.resource) != d.instances:
                self.events.append({"t": now, "kind": "scale", "link": d.resource,
                                    "instances": d.instances, "reason": d.reason})
        for resource in sorted(set(self.scaling) - set(requested)):
            self.events.append({"t": now, "kind": "scale", "link": resource, "instances": 0,
                                "reason": f"shadow {resource} fits again: no instances needed"})
        self.scaling = requested

    def port_status(self, now: float, dpid: int, port: int, live: bool,
                    source: str = "port") -> dict[int, list[Message]]:
        """A port's liveness (port status, port description); fabric links fail over on it.

        A link is up when every end seen so far is live. Going down is acted on
        at once (the fast-failover groups have already moved the traffic; this
        pins it); coming back waits for wait-to-restore and the hold (`tick`).
        """
        return self.ports_seen(now, dpid, {port: live}, source)

    def ports_seen(self, now: float, dpid: int, live: Mapping[int, bool],
                   source: str = "port") -> dict[int, list[Message]]:
        """Several ports' liveness at once (a port description reply): one replan at most."""
        decisions = []
        for port, up in live.items():
            self.port_live[(dpid, port)] = up
            link = self.fabric_ports.get((dpid, port))
            if link is not None:
                link_up = all(self.port_live.get(end, True) for end in self.link_ends[link])
                decisions += self.health.observe(now, link, link_up, source)
        return self._health_decisions(now, decisions)

    def bfd_to_enable(self, now: float, dpid: int, names: dict[int, str]) -> list[str]:
        """Interfaces (of `names`: port -> name) to turn BFD on for, each fabric port once.

        Empty unless `failover.bfd`. Their links' liveness flaps are ignored
        for `bfd_grace` seconds from now: enabling BFD flaps the LIVE bit.
        """
        fo = self.config.failover
        if not fo.bfd:
            return []
        todo = [port for port in sorted(names) if (dpid, port) in self.fabric_ports
                and (dpid, port) not in self.bfd_enabled]
        for port in todo:
            self.bfd_enabled.add((dpid, port))
            self.health.ignore_until(self.fabric_ports[(dpid, port)], now + fo.bfd_grace)
        return [names[port] for port in todo]

    def tick(self, now: float) -> dict[int, list[Message]]:
        """Failbacks that have become due, hosts whose probes went unanswered, and the
        watch's alerts: blocks the response installs or lifts."""
        decisions = []
        interval = self.config.failover.probe_interval
        if interval is not None:
            for subject, up in self.probes.expired(now, interval):
                decisions += self.health.observe(now, subject, up, "probe")
        out = self._health_decisions(now, decisions + self.health.tick(now))
        events, changed = self.watch.advance(now)
        self.events += events
        if changed:
            for dpid, msgs in self._reblock().items():
                out[dpid] = out.get(dpid, []) + msgs
        return out

    def mirrored(self, now: float, destination: Destination, decoded: Decoded) -> dict | None:
        """What a watched shadow host received: frames the app's sniffer read on its port,
        decoded (outside the lock) by `analytics.live.decode_frames`; the `watch_lost`
        event (also recorded) when the sniffer has started losing frames."""
        event = self.watch.take(now, destination, decoded)
        if event is not None:
            self.events.append(event)
        return event

    def lift_block(self, now: float, network: str, source: str, by: str
                   ) -> dict[int, list[Message]]:
        """Lift a block before its TTL (ValueError if there is none); the flow deletes."""
        event = self.watch.lift(now, network, source, by)
        if event is None:
            raise ValueError(f"{source} is not blocked in {network}")
        self.events.append(event)
        return self._reblock()

    def _reblock(self) -> dict[int, list[Message]]:
        """Recompile for the watch's block list; the changes per switch."""
        return self._replan(self.intents.with_blocks(source_limits(self.watch.blocked())))

    def probes_due(self, now: float) -> list[tuple[int, int, bytes]]:
        """(dpid, port, frame) of this round's health probes, one per host a twin can stand for.

        Every `failover.probe_interval` seconds; only to synced switches. The
        probe goes to the host's own port even while its twin stands in: that
        is how the controller sees it come back.
        """
        interval = self.config.failover.probe_interval
        if interval is None or (self.probed_at is not None and now - self.probed_at < interval):
            return []
        self.probed_at = now
        out = []
        for (dpid, port, mac, ip), subject in self.probe_targets.items():
            if self.switches[dpid].synced:
                self.probes.sent(now, subject)
                out.append((dpid, port, arp_probe(mac, ip)))
        return out

    def probe_answered(self, now: float, dpid: int, port: int, frame: bytes
                       ) -> dict[int, list[Message]]:
        """A frame sent to the controller by the probe-answer flow; anything else is ignored."""
        answer = probe_answer(frame)
        if answer is None:
            return {}
        mac, ip = answer
        subject = self.probe_targets.get((dpid, port, mac, ip))
        if subject is None:
            return {}
        decisions = []
        for seen, up in self.probes.answered(now, subject):
            decisions += self.health.observe(now, seen, up, "probe")
        return self._health_decisions(now, decisions)

    def _health_decisions(self, now: float, decisions: list[Decision]
                          ) -> dict[int, list[Message]]:
        failed, taken, swaps = set(self.failed), set(self.taken_over), set(self.swapped)
        for d in decisions:
            add = d.kind == "failover"
            if isinstance(d.subject, tuple) and d.subject[:1] == ("host",):
                _, net, name = d.subject
                client = (net, name)
                if not add and client in taken and self.config.failover.role_swap:
                    taken.discard(client)
                    swaps ^= {client}
                    self.events.append({"t": d.at, "kind": "role_swap", "network": net,
                                        "host": name, "source": d.source, "reason":
                                        f"{name} healthy again ({d.reason}); its twin "
                                        f"{self.standable[client]} keeps serving as the "
                                        "primary and the recovered host stands by as the "
                                        "twin (failover.role_swap)"})
                    continue
                (taken.add if add else taken.discard)(client)
                self.events.append({"t": d.at, "kind": "takeover" if add else "restore",
                                    "network": net, "host": name, "reason": d.reason,
                                    "source": d.source})
                continue
            (failed.add if add else failed.discard)(d.subject)
            self.events.append({"t": d.at, "kind": d.kind, "link": link_name(d.subject),
                                "reason": d.reason, "source": d.source})
        intents = replace(self.intents, failed_links=frozenset(failed),
                          taken_over=frozenset(taken), roles_swapped=frozenset(swaps))
        if intents == self.intents:
            return {}
        return self._replan(intents, now=now)

    def set_host_served(self, now: float, network: str, host: str, by: str,
                        reason: str) -> dict[int, list[Message]]:
        """Serve a primary host from its twin (`by="twin"`: takeover) or itself again.

        The twin's port becomes the host's attachment (see `policy.takeover`);
        the changes come as one make-before-break diff and an event with the reason.
        """
        intents = self.intents.with_host_served((network, host), by)
        if by == "twin" and (network, host) not in self.standable:
            raise ValueError(f"{network}/{host}: no twin with its MAC and IP to stand in")
        if intents.taken_over == self.intents.taken_over:
            return {}
        self.events.append({"t": now, "kind": "takeover" if by == "twin" else "restore",
                            "network": network, "host": host, "reason": reason})
        return self._replan(intents, now=now)

    def set_shadow_active(self, now: float, network: str, active: bool,
                          reason: str) -> dict[int, list[Message]]:
        """Activate a network's shadow (every host with a twin served by it) or deactivate it.

        "Activate shadow, redirect, primary becomes standby": the primary hosts
        keep their ports but carry nothing; each twin serves at its own port
        with its host's addresses. Deactivating moves traffic back, make-
        before-break. A network active by configuration (`shadow.active`) is
        deactivated by changing the configuration (ValueError here).
        """
        net = self._shadowed_network(network)
        if not any(n == network for n, _ in self.standable):
            raise ValueError(f"{network}: no twin has its primary host's MAC and IP, so none "
                             "can serve in its place")
        if not active and net.shadow.active:
            raise ValueError(f"{network}: its shadow is active by configuration "
                             "(shadow.active); change the configuration to deactivate it")
        intents = self.intents.with_shadow_active(network, active)
        if intents.shadow_active == self.intents.shadow_active:
            return {}
        self.events.append({"t": now, "kind": "activate" if active else "deactivate",
                            "network": network, "reason": reason})
        return self._replan(intents, now=now)

    def swap_roles(self, now: float, network: str, reason: str) -> dict[int, list[Message]]:
        """Make every twin of `network` (that has its host's MAC and IP) the primary, and back.

        The twin's port becomes its host's attachment for good and the old
        primary becomes the twin, receiving the mirror copies ("deactivate
        primary, make it standby"). Hosts its twins serve already (takeover,
        active shadow) keep their port, so their traffic does not move; an
        operator's activation of the network ends, its work done.
        """
        net = self._shadowed_network(network)
        mine = frozenset(c for c in self.standable if c[0] == network)
        if not mine:
            raise ValueError(f"{network}: no twin has its primary host's MAC and IP, so none "
                             "can become the primary")
        if net.shadow.active:
            raise ValueError(f"{network}: its shadow is active by configuration "
                             "(shadow.active); swap the ports in the configuration instead")
        intents = replace(self.intents, taken_over=self.taken_over - mine,
                          roles_swapped=self.swapped ^ mine,
                          shadow_active=self.activated - {network})
        self.events.append({"t": now, "kind": "role_swap", "network": network,
                            "hosts": sorted(h for _, h in mine), "reason": reason})
        return self._replan(intents, now=now)

    def active_networks(self) -> frozenset[str]:
        """Networks whose shadow is active, by configuration or by `set_shadow_active`."""
        return self.activated | {n.name for n in self.config.networks
                                 if n.shadow and n.shadow.active}

    def _shadowed_network(self, network: str) -> Network:
        """Network `network`, which must have a shadow (ValueError)."""
        net = next((n for n in self.config.networks if n.name == network), None)
        if net is None or net.shadow is None:
            raise ValueError(f"{network}: no such network with a shadow")
        return net

    def _planned(self, planner: Planner, intents: Intents, config: Config, fabric: Fabric,
                 config_paths: ShadowPaths, held: Mapping[str, float] | None = None,
                 keep_rates: bool = True
                 ) -> tuple[dict[str, SwitchDelta], frozenset[Client]]:
        """Bring `planner`'s plans to `intents` over `config`: what changed on each switch,
        and the hosts twins serve.

        The configuration as served (roles swapped, twins standing in) is what
        gets planned; `config_paths` are `config`'s own shadow paths, reused
        when nothing changes the layout. Only the parts of the plan whose
        inputs changed are rebuilt (see `openflow.incremental`).
        """
        roles = swapped(config, intents.roles_swapped)
        standing = standable(roles)
        served = (intents.taken_over | active_hosts(roles)
                  | {c for c in standing if c[0] in intents.shadow_active})
        layout = serving(roles, served)
        paths = (config_paths if layout is config
                 else shadow_paths(layout, fabric, reuse=(config, config_paths)))
        deltas = planner.update(Inputs(
            layout, fabric, paths, self.held() if held is None else held,
            intents.shadow_path, intents.failed_links, intents.twin_service, intents.blocks),
            keep_rates)
        return deltas, frozenset(served)

    def _networks_served(self) -> frozenset[str]:
        """Networks whose every host with a twin is served by it (the shadow carries it all)."""
        return frozenset(n for n in {c[0] for c in self.standable}
                         if all(c in self.served for c in self.standable if c[0] == n))

    def _diff(self, plans: dict[int, SwitchPlan]) -> dict[int, list[Message]]:
        """Messages from the current plans to `plans` (all of each), per switch."""
        out: dict[int, list[Message]] = {}
        for dpid, plan in plans.items():
            old = self.plans[dpid]
            msgs, _ = _changes(plan, {k: f.cookie for k, f in old.flows.items()},
                               set(old.groups), dict(old.meters))
            if msgs:
                out[dpid] = [*msgs, Barrier()]
        return out

    def apply_intents(self, now: float, intents: Intents) -> dict[int, list[Message]]:
        """Make `intents` the current ones (undo: the previous intents); changes per switch."""
        if intents == self.intents:
            return {}
        return self._replan(intents, now=now)

    def _replan(self, intents: Intents, *, now: float | None = None
                ) -> dict[int, list[Message]]:
        """Plan for new intents, diff, and swap the result in; the changes per switch.

        `now`: when given, a network whose shadow comes to serve all of it (or
        stops to) is recorded as an event.
        """
        deltas, served = self._planned(self.planner, intents, self.config, self.fabric,
                                       self.shadow_paths)
        out = _messages(self.planner, deltas)
        self._swap_in(intents, self.plans, served, now)
        return out

    def _swap_in(self, intents: Intents, plans: dict[int, SwitchPlan],
                 served: frozenset[Client], now: float | None) -> None:
        """Make `intents` and their plans the current ones (nothing here can fail half way)."""
        if intents.roles_swapped != self.intents.roles_swapped:
            self.standable, self.probe_targets = _probe_index(self.config,
                                                              intents.roles_swapped)
        self.plans, self.intents, self.served = plans, intents, served
        for dpid, plan in plans.items():
            state = self.switches[dpid]
            state.flows, state.groups, state.meters = (len(plan.flows), len(plan.groups),
                                                       len(plan.meters))
        self.demand.track(plans)
        all_served = self._networks_served()
        if now is not None:
            for net in sorted(all_served - self._all_served):
                self.events.append({"t": now, "kind": "shadow_serving", "network": net,
                                    "reason": f"every host of {net} with a twin is served by "
                                              "it: the shadow carries the network, the primary "
                                              "stands by"})
            for net in sorted(self._all_served - all_served):
                self.events.append({"t": now, "kind": "primary_serving", "network": net,
                                    "reason": f"{net}'s primary hosts serve again"})
        self._all_served = all_served

    def reload(self, now: float, config: Config) -> dict[int, list[Message]]:
        """Take a new configuration live; the changes per switch, make-before-break.

        The runtime state carries over where the new configuration still has
        its subject: failed links, clients preemptive routing has moved,
        rates, forecasts, profiles, allocation scores and events. The switches
        must stay the same ones (ReloadRefused otherwise): a switch joins or
        leaves with a restart. Settings read only at start (telemetry's
        history, window and metrics) keep their old values until then.
        """
        if {s.dpid for s in config.switches} != set(self.plans):
            raise ReloadRefused("fabric.switches: adding or removing switches needs a "
                                "controller restart")
        started_with = replace(config, controller=self.config.controller,
                               telemetry=self.config.telemetry, api=self.config.api)
        waiting = "" if started_with == config else (
            "; controller, telemetry and api changes take effect at the next restart")
        config = started_with
        # Everything new is built first; only then is it swapped in, so a
        # failure here leaves the running state whole.
        if (config.switches, config.links) == (self.config.switches, self.config.links):
            fabric = self.fabric
            paths = shadow_paths(config, fabric, reuse=(self.config, self.shadow_paths))
        else:
            fabric = Fabric(config)
            paths = shadow_paths(config, fabric)
        config_moved, config_steered = _config_moved(config), _config_steered(config)
        clients = {(n.name, h.name) for n in config.networks if n.shadow for h in n.hosts}
        servable = {(n.name, h.name) for n in config.networks if n.shadow and n.shadow.services
                    for h in n.hosts}
        fabric_ports, link_ends = _fabric_index(config)
        watched_networks = {n for n, _ in watched(config)}
        kept = self.intents.kept(
            clients=clients, links=link_ends.keys(), standable=standable(config).keys(),
            networks={n.name for n in config.networks if n.shadow is not None})
        roles_standable, probe_targets = _probe_index(config, kept.roles_swapped)
        intents = replace(
            kept.with_blocks({k: v for k, v in self.intents.blocks.items()
                              if k[0] in watched_networks}),
            shadow_path=config_moved | (self.moved - self.config_moved) & clients,
            twin_service=config_steered | ((self.steered - self.config_steered) & servable),
            taken_over=kept.taken_over & roles_standable.keys())
        planner = self.planner.fork(config)  # unchanged networks keep their parts
        forked = bool(planner.parts)  # else the switches' names changed: a fresh start
        deltas, served = self._planned(planner, intents, config, fabric, paths,
                                       keep_rates=False)
        plans = planner.by_dpid()
        allocator = self.allocator.retuned({
            n.name: allocation_policy(n.shadow.allocation, config.forecast.level)
            for n in config.networks if n.shadow is not None})
        demand = Demand(config, self.plans)
        demand.ports, demand.flows, demand.latest = (self.demand.ports, self.demand.flows,
                                                     self.demand.latest)
        out = (_messages(planner, deltas) if forked else self._diff(plans))

        self.config, self.fabric, self.shadow_paths = config, fabric, paths
        self.fabric_ports, self.link_ends = fabric_ports, link_ends
        self.config_moved, self.config_steered = config_moved, config_steered
        self.allocator = allocator
        self.allocations = {k: v for k, v in self.allocations.items()
                            if k in allocator.policies}
        fo, rt = config.failover, config.routing
        self.health.policy = HealthPolicy(fo.wait_to_restore, fo.hold)
        self.probes.misses = fo.probe_misses
        self.preempter.policy = PreemptPolicy(rt.upper, rt.lower, rt.hold)
        # A client the new config places itself is no longer preemptive routing's to move.
        self.preempter.forget(lambda client: client not in clients or client in config_moved
                              or client in config_steered)
        self.watch.reconfigure(config)
        self.standable, self.probe_targets = roles_standable, probe_targets
        self.demand = demand
        self.planner = planner
        self._swap_in(intents, plans, served, now)
        for dpid, plan in self.plans.items():
            self.switches[dpid].name = plan.name
        changed = sum(len(msgs) - 1 for msgs in out.values())
        self.reloads = {"generation": self.reloads["generation"] + 1, "at": now, "errors": []}
        self.events.append({"t": now, "kind": "config", "result": "applied", "reason":
                            f"reloaded: {changed} changes on {len(out)} switches{waiting}"})
        return out

    def ldap_round(self, now: float, network: str, report) -> bool:
        """Take a round of `network`'s LDAP mirror (a directory RoundReport); True if it
        became an `ldap` event: it changed entries, found drift, failed, or is the first good
        round after failures. Quiet rounds leave no trace."""
        changed = report.added + report.modified + report.renamed + report.deleted
        recovered = report.error is None and network in self.ldap_failing
        if report.error is None:
            self.ldap_failing.discard(network)
        else:
            self.ldap_failing.add(network)
        if report.ok and not changed and not report.drift and not recovered:
            return False
        self.events.append({"t": now, "kind": "ldap", "network": network,
                            "result": "ok" if report.ok else "failed",
                            "reason": report.line()})
        return True

    def reload_rejected(self, now: float, errors: list[str]) -> None:
        """A reload that failed validation: recorded; the running configuration stays."""
        self.reloads = {**self.reloads, "at": now, "errors": list(errors)}
        self.events.append({"t": now, "kind": "config", "result": "rejected",
                            "reason": "; ".join(errors)})

    def switch_synced(self, now: float, dpid: int) -> None:
        """The barrier after reconciliation came back: the switch holds the desired state."""
        state = self.switches[dpid]
        plan = self.plan(dpid)
        state.synced, state.synced_at = True, now
        state.flows, state.groups, state.meters = len(plan.flows), len(plan.groups), len(
            plan.meters)

    def group_stats(self, now: float, dpid: int, counters: Iterable[GroupCounters]) -> None:
        """Take a group stats reply; mirror counters are derived from it."""
        plan = self.plan(dpid)
        self._group_counters.setdefault(dpid, {}).update(
            (c.group_id, _sum_buckets(c, plan.mirror_groups[c.group_id].copy_buckets))
            for c in counters
            if c.group_id in plan.mirror_groups
        )

    def meter_stats(self, now: float, dpid: int, stats: MeterStats) -> None:
        """Take a meter stats reply: what each best-effort meter let in and what it dropped."""
        plan = self.plans.get(dpid)
        if plan is None:
            return
        specs = {spec.meter_id: spec for spec in plan.best_effort.values()}
        for i, meter_id in enumerate(stats.meter_id.tolist()):
            spec = specs.get(meter_id)
            if spec is None:
                continue
            _, band_bytes = stats.bands(i)
            key = f"{spec.network}@{spec.link[0]}>{spec.link[1]}"
            self.policed[key] = {"bytes": int(stats.byte_in_count[i]),
                                 "dropped_bytes": int(band_bytes.sum())}

    def mirror_flow_stats(self, now: float, dpid: int, flows: Iterable[InstalledFlow]) -> None:
        """Take flow stats of the mirror tables: counters of sessions that copy inline."""
        plan = self.plan(dpid)
        self._flow_counters.setdefault(dpid, {}).update(
            (f.key, (f.packets, f.bytes)) for f in flows if f.key in plan.mirror_flows
        )

    def mirror_counters(self) -> dict[str, MirrorCounters]:
        """Packets selected for copying and their bytes per session, summed over switches.

        A packet copied to several destinations counts once; bytes are before truncation.
        """
        totals = {
            s.name: MirrorCounters()
            for n in self.config.networks if n.shadow for s in n.shadow.mirror
        }
        for dpid, by_group in self._group_counters.items():
            groups = self.plans[dpid].mirror_groups
            for gid, counts in by_group.items():
                if gid in groups and groups[gid].session in totals:  # not changed since polled
                    totals[groups[gid].session].add(*counts)
        for dpid, by_flow in self._flow_counters.items():
            flows = self.plans[dpid].mirror_flows
            for key, counts in by_flow.items():
                if flows.get(key) in totals:
                    totals[flows[key]].add(*counts)
        return totals

    def held(self) -> dict[str, float]:
        """Bytes/s each shadow network holds on its links now (forecast_only ones hold none)."""
        return {name: a.held for name, a in self.allocations.items() if a.install}

    def allocation_messages(self, now: float) -> dict[int, list[Message]]:
        """Meter modifies that make every switch hold the current allocations."""
        held = self.held()
        out: dict[int, list[Message]] = {}
        for dpid, plan in self.plans.items():
            want = {spec.meter_id: spec.meter(held) for spec in plan.best_effort.values()}
            msgs = _meter_changes(plan.meters, want)
            if msgs:
                plan.meters.update(want)
                out[dpid] = msgs
        return out

    def flow_demand(self, now: float, dpid: int, stats: FlowStats) -> dict[str, float]:
        """Client and network rates from a flow stats reply; clients' profiles learn from them."""
        values = self.demand.flow_stats(now, dpid, stats)
        self.profiles.observe(now, values)
        return values

    def metrics(self) -> dict:
        """Snapshot for the Prometheus endpoint: status plus rates, forecasts, allocations."""
        return {
            **self.status(),
            "rates": dict(self.demand.latest),
            "forecast": {
                "horizon_s": self.config.forecast.horizon,
                "level": self.config.forecast.level,
                "series": {k: {"point": f.point, "lower": f.lower, "upper": f.upper}
                           for k, f in self.forecasts.items()},
            },
            "allocation": {
                name: {"strategy": a.strategy, "bytes_per_second": a.held}
                for name, a in self.allocations.items()
            },
        }

    def status(self) -> dict:
        """A JSON-able snapshot: switches, mirror counters, demand, forecasts, allocations."""
        return {
            "demand": {k: round(v, 1) for k, v in self.demand.latest.items()
                       if k.startswith(("network:", "client:", "link:"))},
            "forecast": {
                "at": self.forecast_at,
                "horizon_s": self.config.forecast.horizon,
                "level": self.config.forecast.level,
                "series": {k: [round(f.lower, 1), round(f.point, 1), round(f.upper, 1)]
                           for k, f in self.forecasts.items()
                           if k.startswith(("network:", "client:", "link:"))},
            },
            "allocation": {
                name: {"strategy": a.strategy, "held": round(a.held, 1),
                       "point": round(a.point, 1), "upper": round(a.upper, 1),
                       "weight": round(a.weight, 3), "installed": a.install,
                       "recommendation": a.recommendation.text() if a.recommendation else None}
                for name, a in self.allocations.items()
            },
            "switches": {
                str(s.dpid): {
                    "name": s.name,
                    "connected": s.connected,
                    "synced": s.synced,
                    "flows": s.flows,
                    "groups": s.groups,
                    "meters": s.meters,
                    "best_effort_kbps": {
                        f"{spec.network}@{spec.link[0]}>{spec.link[1]}":
                            self.plans[s.dpid].meters[spec.meter_id].bands[0].rate
                        for spec in self.plans[s.dpid].best_effort.values()},
                    "connected_at": s.connected_at,
                    "synced_at": s.synced_at,
                    "last_sync": s.last_sync,
                }
                for s in self.switches.values()
            },
            "mirror": {
                name: {"packets": c.packets, "bytes": c.bytes}
                for name, c in self.mirror_counters().items()
            },
            "policed": dict(sorted(self.policed.items())),
            "routing": {
                "failed_links": sorted(link_name(link) for link in self.failed),
                "moved_clients": sorted(f"{n}/{h}" for n, h in self.moved),
                "taken_over": sorted(f"{n}/{h}" for n, h in self.taken_over),
                "served_by_twins": sorted(f"{n}/{h}" for n, h in self.served),
                "shadow_active": sorted(self.active_networks()),
                "roles_swapped": sorted(f"{n}/{h}" for n, h in self.swapped),
                "steered_clients": sorted(f"{n}/{h}" for n, h in self.steered),
                "scaling": dict(sorted(self.scaling.items())),
                "health": self.health.snapshot(),
            },
            "reload": dict(self.reloads),
            "security": self.watch.status(),
            "events": self.events[-200:],
        }


ProbeTargets = dict[tuple[int, int, str, str], tuple[str, str, str]]
"""(dpid, port, MAC, IP) a probe goes to -> its subject ("host", network, host)."""


def _messages(planner: Planner, deltas: Mapping[str, SwitchDelta]) -> dict[int, list[Message]]:
    """Each changed switch's messages (make-before-break), then a barrier, by dpid."""
    return {planner.plans[name].dpid: [*delta.messages(), Barrier()]
            for name, delta in deltas.items()}


def _probe_index(config: Config, roles_swapped: frozenset[Client]
                 ) -> tuple[dict[Client, str], ProbeTargets]:
    """Which hosts a twin can stand for, and where each one's probes go (by dpid, port,
    MAC and IP), with roles swapped as `roles_swapped` says."""
    roles = swapped(config, roles_swapped)
    standing = standable(roles)
    targets: ProbeTargets = {}
    for net, name in sorted(standing):
        host = roles.network(net).host(name)
        where = (roles.switch(host.switch).dpid, host.port, host.mac, str(host.ip))
        targets[where] = ("host", net, name)
    return standing, targets


def source_limits(blocks: Mapping[tuple[str, str], Block]
                  ) -> dict[tuple[str, str], SourceLimit | None]:
    """The response's blocks as the compiler takes them: None (drop) or the source's meter."""
    return {key: None if b.slot is None else SourceLimit(b.slot, b.meter_kbps)
            for key, b in blocks.items()}


def _config_moved(config: Config) -> frozenset[tuple[str, str]]:
    """The (network, host) clients the configuration puts on shadow paths (`path: shadow`)."""
    return frozenset((n.name, host) for n in config.networks if n.shadow
                     for host, path in n.shadow.clients if path == "shadow")


def _config_steered(config: Config) -> frozenset[tuple[str, str]]:
    """The (network, host) clients the configuration sends to twins (`service: twin`)."""
    return frozenset((n.name, host) for n in config.networks if n.shadow
                     for host, service in n.shadow.client_services if service == "twin")


def _fabric_index(config: Config) -> tuple[dict[tuple[int, int], Link],
                                           dict[Link, list[tuple[int, int]]]]:
    """Each fabric port's link, and each link's ends, as (dpid, port)."""
    dpids = {s.name: s.dpid for s in config.switches}
    ports: dict[tuple[int, int], Link] = {}
    for link in config.links:
        pair = frozenset((link.a.switch, link.b.switch))
        for end in (link.a, link.b):
            ports[(dpids[end.switch], end.port)] = pair
    ends: dict[Link, list[tuple[int, int]]] = {}
    for end, link in ports.items():
        ends.setdefault(link, []).append(end)
    return ports, ends


def _changes(plan: SwitchPlan, have: dict[FlowKey, int], have_groups: set[int],
             have_meters: dict[int, Meter]) -> tuple[list[Message], int]:
    """Messages from `have` to `plan`, make-before-break; and how many add or replace."""
    msgs: list[Message] = [GroupAdd(g) for gid, g in plan.groups.items()
                           if gid not in have_groups]
    msgs += _meter_changes(have_meters, plan.meters)
    msgs += [FlowAdd(f) for key, f in plan.flows.items() if have.get(key) != f.cookie]
    added = len(msgs)
    msgs += [
        FlowDelete(table_id=t, priority=p, match=m, cookie=cookie,
                   cookie_mask=0xFFFFFFFFFFFFFFFF, strict=True)
        for (t, p, m), cookie in have.items() if (t, p, m) not in plan.flows
    ]
    msgs += [GroupDelete(gid) for gid in sorted(have_groups - set(plan.groups))]
    msgs += [MeterDelete(mid) for mid in sorted(set(have_meters) - set(plan.meters))]
    return msgs, added


def _meter_changes(have: dict[int, Meter], want: dict[int, Meter]) -> list[Message]:
    """Adds for missing meters, modifies for meters whose bands differ."""
    msgs: list[Message] = []
    for meter_id, meter in sorted(want.items()):
        if meter_id not in have:
            msgs.append(MeterAdd(meter))
        elif have[meter_id] != meter:
            msgs.append(MeterModify(meter))
    return msgs


def _sum_buckets(counters: GroupCounters, copy_buckets: tuple[int, ...]) -> tuple[int, int]:
    packets = sum(counters.buckets[i][0] for i in copy_buckets if i < len(counters.buckets))
    nbytes = sum(counters.buckets[i][1] for i in copy_buckets if i < len(counters.buckets))
    return packets, nbytes
