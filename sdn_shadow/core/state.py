"""The core's decided state: the configuration's layout, the intents, their plans, the events.

`PlanState` brings plans to new intents (incrementally) and swaps the
result in whole; the composer says what a swap means to the rest (`_took`)
and what the shadows hold (`held`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sdn_shadow.config.model import Config
from sdn_shadow.core.eventlog import EventLog
from sdn_shadow.core.health import ProbeTargets
from sdn_shadow.core.model import Event, Updates
from sdn_shadow.core.planning import (
    Layout,
    layout_of,
    networks_served,
    planned,
    serving_events,
)
from sdn_shadow.core.reconcile import delta_messages
from sdn_shadow.core.roles import Roles, active_networks, roles_of
from sdn_shadow.intents import Client, Intents
from sdn_shadow.openflow.compiler import ShadowPaths, SwitchPlan
from sdn_shadow.openflow.incremental import Planner
from sdn_shadow.topology import Fabric


class PlanState:
    """Layout, intents, plans and the hosts twins serve; the event record."""

    def __init__(self, config: Config) -> None:
        self.layout: Layout = layout_of(config)
        self.intents = Intents(shadow_path=self.layout.shadow_path,
                               twin_service=self.layout.twin_service)
        self.roles: Roles = roles_of(config, self.intents.roles_swapped)
        self.planner = Planner(config)
        self.served: frozenset[Client] = planned(self.planner, self.intents, self.layout,
                                                 held={})[1]
        self.plans: dict[int, SwitchPlan] = self.planner.by_dpid()
        self.all_served = networks_served(self.roles.standable, self.served)
        self.events = EventLog()  # bounded: the newest MAX_EVENTS

    @property
    def config(self) -> Config:
        """The running configuration."""
        return self.layout.config

    @property
    def fabric(self) -> Fabric:
        """The configuration's fabric graph."""
        return self.layout.fabric

    @property
    def shadow_paths(self) -> ShadowPaths:
        """The configuration's own shadow paths."""
        return self.layout.paths

    @property
    def config_shadow_path(self) -> frozenset[Client]:
        """Clients the configuration puts on shadow paths."""
        return self.layout.shadow_path

    @property
    def config_twin_service(self) -> frozenset[Client]:
        """Clients the configuration sends to twins."""
        return self.layout.twin_service

    @property
    def standable(self) -> Mapping[Client, str]:
        """Hosts a twin can stand for (-> the twin)."""
        return self.roles.standable

    @property
    def probe_targets(self) -> ProbeTargets:
        """Where each standable host's probes go."""
        return self.roles.probe_targets

    def active_networks(self) -> frozenset[str]:
        """Networks whose shadow is active, by configuration or by `set_shadow_active`."""
        return active_networks(self.config, self.intents)

    def held(self) -> dict[str, float]:
        """Bytes/s each shadow network holds on its links now (the composer's to say)."""
        raise NotImplementedError

    def _took(self, plans: dict[int, SwitchPlan], changed: Iterable[int] | None) -> None:
        """New plans are in (`changed`: the switches whose plans changed, None: any may
        have): what that means to the rest (the composer's to say)."""
        raise NotImplementedError

    def _intend(self, intents: Intents, record: Event, now: float | None = None) -> Updates:
        """Make `intents` current, recorded as `record`; nothing when they change nothing."""
        return {} if intents == self.intents else self._replan(intents, now=now, record=record)

    def _replan(self, intents: Intents, *, now: float | None = None,
                record: Event | None = None) -> Updates:
        """Plan for new intents, diff, and swap the result in; the changes per switch.

        `record`: the change's event, recorded once the plan is made. `now`:
        when given, a network whose shadow comes to serve all of it (or stops
        to) is recorded as an event too.
        """
        deltas, served = planned(self.planner, intents, self.layout, self.held())
        out = delta_messages(self.planner, deltas)
        if record is not None:
            self.events.append(record)
        # by_dpid again: a switch's plan is a new object when a fork's first change copied it
        self._swap_in(intents, self.planner.by_dpid(), served, now, out.keys())
        return out

    def _swap_in(self, intents: Intents, plans: dict[int, SwitchPlan],
                 served: frozenset[Client], now: float | None,
                 changed: Iterable[int] | None = None) -> None:
        """Make `intents` and their plans the current ones (nothing here can fail half way);
        `changed`: the switches whose plans changed (None: any may have)."""
        if intents.roles_swapped != self.intents.roles_swapped:
            self.roles = roles_of(self.config, intents.roles_swapped)
        self.plans, self.intents, self.served = plans, intents, served
        self._took(plans, changed)
        all_served = networks_served(self.roles.standable, served)
        if now is not None:
            self.events += serving_events(now, self.all_served, all_served)
        self.all_served = all_served
