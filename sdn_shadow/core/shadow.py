"""ShadowCore: the composer of the core's subsystems; switch events in, messages out.

Each subsystem (state, reconcile, health, clients, roles, capacity, preempt, watch,
readout) owns its state. A change is new intents, a plan, a diff, messages; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.analytics.live import Decoded
from sdn_shadow.config.model import Config
from sdn_shadow.core import clients, health, readout, reconcile, roles
from sdn_shadow.core.capacity import Capacity
from sdn_shadow.core.model import (
    Event,
    GroupCounters,
    InstalledFlow,
    MirrorCounters,
    SwitchState,
    UnknownSwitch,
    Updates,
    event,
    merge,
)
from sdn_shadow.core.preempt import Preemption
from sdn_shadow.core.reload import reloaded
from sdn_shadow.core.state import PlanState
from sdn_shadow.core.watch import source_limits
from sdn_shadow.forecast.round import Fitted, ForecastJob
from sdn_shadow.intents import Intents
from sdn_shadow.openflow.compiler import SwitchPlan
from sdn_shadow.openflow.messages import Message, Meter
from sdn_shadow.policy.allocation import Allocation
from sdn_shadow.policy.health import Decision
from sdn_shadow.policy.watch import Destination, ShadowWatch
from sdn_shadow.telemetry.decode import FlowStats, MeterStats
from sdn_shadow.telemetry.profiles import ProfileBook

if TYPE_CHECKING:
    from sdn_shadow.demand import Demand
    from sdn_shadow.directory.follower import RoundReport


class ShadowCore(PlanState):
    """Composes the subsystems; every change returns its messages per switch (dpid)."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.watch = ShadowWatch(config)  # live detection on the copies, and the response
        self.health_state = health.Health(config)
        self.preemption = Preemption(config)
        self.switches = {dpid: SwitchState(dpid, p.name) for dpid, p in self.plans.items()}
        self.capacity = Capacity(config, self.plans)
        self.mirrors = readout.MirrorStats()
        self.ldap_failing: frozenset[str] = frozenset()  # last LDAP mirror round failed
        self.reloads: dict[str, Any] = {"generation": 0, "at": None, "errors": []}

    def _took(self, plans: dict[int, SwitchPlan], changed: Iterable[int] | None) -> None:
        """New plans are in: switches count what they hold; demand tracks their cookies."""
        for dpid in plans if changed is None else changed:
            self.switches[dpid] = self.switches[dpid].holding(plans[dpid])
        self.capacity.track(plans, changed)

    @property
    def demand(self) -> Demand:
        """Measured rates (capacity's)."""
        return self.capacity.demand

    @property
    def profiles(self) -> ProfileBook:
        """Client profiles (capacity's); the app sets them from its store at start."""
        return self.capacity.profiles

    @profiles.setter
    def profiles(self, book: ProfileBook) -> None:
        self.capacity.profiles = book

    # Capacity: forecasts, allocations, meters.
    def forecast_inputs(self, series: Iterable[str]) -> tuple[list[str], int]:
        """Which of the stored series to forecast, and how many points of each to read."""
        return self.capacity.forecast_inputs(series)

    def forecast_job(self) -> ForecastJob:
        """What a forecast round's model work needs, copied: run it outside the lock."""
        return self.capacity.forecast_job()

    def forecast(self, now: float, keys: list[str], history: NDArray[np.float64]
                 ) -> dict[str, Allocation]:
        """`forecast_job().run` then `take_forecasts`, in one call (tests, tools)."""
        return self.take_forecasts(now, self.forecast_job().run(keys, history, now))

    def take_forecasts(self, now: float, fitted: Fitted) -> dict[str, Allocation]:
        """A round's forecasts in; each shadow's allocation sized from them."""
        return self.capacity.take_forecasts(now, fitted)

    def held(self) -> dict[str, float]:
        """Bytes/s each shadow network holds on its links now."""
        return self.capacity.held()

    def allocation_messages(self, now: float) -> Updates:
        """Meter modifies that make every switch hold the current allocations."""
        return self.capacity.allocation_messages(self.plans)

    def flow_demand(self, now: float, dpid: int, stats: FlowStats) -> dict[str, float]:
        """Client and network rates from a flow stats reply; profiles learn from them."""
        return self.capacity.flow_demand(now, dpid, stats)

    def meter_stats(self, now: float, dpid: int, stats: MeterStats) -> None:
        """Take a meter stats reply: what each best-effort meter let in and dropped."""
        if dpid in self.plans:
            self.capacity.meter_stats(self.plans[dpid], stats)

    # Reconcile: switch states.
    def plan(self, dpid: int) -> SwitchPlan:
        """The desired state of switch `dpid` (UnknownSwitch if not configured)."""
        try:
            return self.plans[dpid]
        except KeyError:
            raise UnknownSwitch(dpid) from None

    def switch_connected(self, now: float, dpid: int) -> None:
        """Record a (re)connection; the switch is unsynced until its barrier returns, and
        its counters start again (its next stats are baselines, not rates)."""
        dpid = self.plan(dpid).dpid
        self.switches[dpid] = self.switches[dpid].on_connect(now)
        self.capacity.demand.switch_reconnected(dpid)

    def switch_disconnected(self, now: float, dpid: int) -> None:
        """Record a disconnection (the switch keeps its flows: fail_mode=secure)."""
        if dpid in self.switches:
            self.switches[dpid] = self.switches[dpid].on_disconnect()

    def reconcile(self, now: float, dpid: int, installed_flows: Iterable[InstalledFlow],
                  installed_groups: Iterable[int], installed_meters: Iterable[Meter] = ()
                  ) -> list[Message]:
        """Messages that bring switch `dpid` from what it has to exactly the desired state
        (see `core.reconcile.reconcile`); a barrier last."""
        msgs, counts = reconcile.reconcile(self.plan(dpid), installed_flows, installed_groups,
                                           installed_meters, not self.capacity.allocations)
        self.switches[dpid] = replace(self.switches[dpid], last_sync=counts)
        return msgs

    def switch_synced(self, now: float, dpid: int) -> None:
        """The barrier after reconciliation came back: the switch holds the desired state."""
        self.switches[dpid] = self.switches[dpid].on_sync(now, self.plan(dpid))

    # Intents: client changes, roles, health.
    def set_client_path(self, now: float, network: str, host: str, path: str,
                        reason: str) -> Updates:
        """Move a client's traffic (both ways) onto its shadow paths or back; an event."""
        intents = clients.client_path(self.config, self.intents, network, host, path)
        return self._intend(intents, event(now, "move", network=network, client=host,
                                           path=path, reason=reason))

    def set_client_service(self, now: float, network: str, host: str, service: str,
                           reason: str) -> Updates:
        """Send a client's *new* connections to the service hosts' twins, or back; an event."""
        intents = clients.client_service(self.config, self.intents, network, host, service)
        return self._intend(intents, event(now, "steer", network=network, client=host,
                                           service=service, reason=reason))

    def set_host_served(self, now: float, network: str, host: str, by: str,
                        reason: str) -> Updates:
        """Serve a primary host from its twin (`by="twin"`: takeover) or itself again."""
        intents = roles.host_served(self.intents, self.roles, network, host, by)
        return self._intend(intents, event(now, "takeover" if by == "twin" else "restore",
                                           network=network, host=host, reason=reason), now)

    def set_shadow_active(self, now: float, network: str, active: bool,
                          reason: str) -> Updates:
        """Activate a network's shadow (every host with a twin served by it) or not."""
        intents = roles.shadow_activated(self.config, self.intents, self.roles, network, active)
        return self._intend(intents, event(now, "activate" if active else "deactivate",
                                           network=network, reason=reason), now)

    def swap_roles(self, now: float, network: str, reason: str) -> Updates:
        """Make every twin of `network` (with its host's MAC and IP) the primary, and back."""
        intents, mine = roles.roles_swapped(self.config, self.intents, self.roles, network)
        return self._intend(intents, event(now, "role_swap", network=network,
                                           hosts=sorted(h for _, h in mine), reason=reason),
                            now)

    def apply_intents(self, now: float, intents: Intents) -> Updates:
        """Make `intents` the current ones (undo: the previous intents); changes per switch."""
        return {} if intents == self.intents else self._replan(intents, now=now)

    def port_status(self, now: float, dpid: int, port: int, live: bool,
                    source: str = "port") -> Updates:
        """A port's liveness; fabric links fail over at once and come back after the hold."""
        return self.ports_seen(now, dpid, {port: live}, source)

    def ports_seen(self, now: float, dpid: int, live: Mapping[int, bool],
                   source: str = "port") -> Updates:
        """Several ports' liveness at once (a port description reply): one replan at most."""
        return self._decided(now, self.health_state.ports_seen(now, dpid, live, source))

    def bfd_to_enable(self, now: float, dpid: int, names: dict[int, str]) -> list[str]:
        """Interfaces (port -> name) to turn BFD on for, each fabric port once."""
        return self.health_state.bfd_to_enable(now, dpid, names)

    def probes_due(self, now: float) -> list[tuple[int, int, bytes]]:
        """(dpid, port, frame) of this round's health probes (to synced switches)."""
        return self.health_state.probes_due(now, self.probe_targets,
                                            lambda dpid: self.switches[dpid].synced)

    def probe_answered(self, now: float, dpid: int, port: int, frame: bytes) -> Updates:
        """A frame sent to the controller by the probe-answer flow; others are ignored."""
        return self._decided(now, self.health_state.probe_answered(now, dpid, port, frame,
                                                                   self.probe_targets))

    def tick(self, now: float) -> Updates:
        """Failbacks due, hosts whose probes went unanswered, and the watch's blocks."""
        out = self._decided(now, self.health_state.due(now))
        events, changed = self.watch.advance(now)
        self.events += events
        return merge(out, self._reblock()) if changed else out

    def _decided(self, now: float, decisions: list[Decision]) -> Updates:
        intents, events = health.decided(self.intents, decisions, self.standable,
                                         self.config.failover.role_swap)
        self.events += events
        return {} if intents == self.intents else self._replan(intents, now=now)

    def preempt(self, now: float) -> Updates:
        """Move clients off resources forecast to cross `routing.upper`, and back."""
        cap = self.capacity
        weights = {name: cap.allocator.weight(name) for name in cap.allocator.policies}
        changes, events = self.preemption.round(now, self.layout, cap.forecasts,
                                                cap.profile_only, weights, cap.demand.latest)
        self.events += events
        out: Updates = {}
        for c in changes:
            move = self.set_client_path if c.what == "path" else self.set_client_service
            merge(out, move(now, *c.client, c.to, c.reason))
        return out

    # Watch and response.
    def mirrored(self, now: float, destination: Destination, decoded: Decoded
                 ) -> Event | None:
        """What a watched shadow host received (decoded outside the lock); the
        `watch_lost` event (also recorded) when the sniffer started losing frames."""
        found = self.watch.take(now, destination, decoded)
        if found is not None:
            self.events.append(found)
        return found

    def lift_block(self, now: float, network: str, source: str, by: str) -> Updates:
        """Lift a block before its TTL (ValueError if there is none); the flow deletes."""
        found = self.watch.lift(now, network, source, by)
        if found is None:
            raise ValueError(f"{source} is not blocked in {network}")
        self.events.append(found)
        return self._reblock()

    def _reblock(self) -> Updates:
        return self._replan(self.intents.with_blocks(source_limits(self.watch.blocked())))

    # Configuration and records.
    def reload(self, now: float, config: Config, *, reason: str | None = None) -> Updates:
        """Take a new configuration live (ReloadRefused if it cannot be); see `core.reload`."""
        return reloaded(self, now, config, reason)

    def reload_rejected(self, now: float, errors: list[str]) -> None:
        """A reload that failed validation: recorded; the running configuration stays."""
        self.reloads = {**self.reloads, "at": now, "errors": list(errors)}
        self.events.append(event(now, "config", result="rejected", reason="; ".join(errors)))

    def ldap_round(self, now: float, network: str, report: RoundReport) -> bool:
        """Take a round of `network`'s LDAP mirror; True if it became an `ldap` event."""
        self.ldap_failing, found = readout.ldap_event(self.ldap_failing, now, network, report)
        if found is not None:
            self.events.append(found)
        return found is not None

    # Readout.
    def group_stats(self, now: float, dpid: int, counters: Iterable[GroupCounters]) -> None:
        """Take a group stats reply; mirror counters are derived from it."""
        self.mirrors.group_stats(self.plan(dpid), counters)

    def mirror_flow_stats(self, now: float, dpid: int, flows: Iterable[InstalledFlow]) -> None:
        """Take flow stats of the mirror tables: counters of sessions that copy inline."""
        self.mirrors.flow_stats(self.plan(dpid), flows)

    def mirror_counters(self, only: Iterable[str] | None = None) -> dict[str, MirrorCounters]:
        """Packets selected for copying and their bytes per session, summed over switches
        (`only`: just these sessions of the configuration)."""
        return self.mirrors.totals(self.config, self.plans, only)

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot (see `core.readout.status`)."""
        return readout.status(self)

    def metrics(self) -> dict[str, Any]:
        """Snapshot for the Prometheus endpoint (see `core.readout.metrics`)."""
        return readout.metrics(self)
