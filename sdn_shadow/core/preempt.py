"""Preemption: clients moved off resources forecast to overload, and back; scaling requests.

`Preemption` owns the preempter (a value, swapped for the new one each round)
and the scaling requested now; a round returns the client changes to make
(the composer makes them as ordinary moves) and the events of scaling
requests that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from sdn_shadow.config.model import Config, RoutingSettings
from sdn_shadow.core.model import Event, event
from sdn_shadow.core.planning import Layout
from sdn_shadow.forecast.round import SeriesForecastView
from sdn_shadow.intents import Client
from sdn_shadow.policy.preempt import Decision, Preempter, PreemptPolicy
from sdn_shadow.policy.routing import Planned, preempt_inputs


@dataclass(frozen=True)
class ClientChange:
    """One client's path (`what="path"`: primary/shadow) or service (primary/twin)."""

    what: str
    client: Client
    to: str
    reason: str


def _policy(rt: RoutingSettings) -> PreemptPolicy:
    return PreemptPolicy(rt.upper, rt.lower, rt.hold, confirm=rt.confirm)


class Preemption:
    """Preemptive routing's state: who it relieved (the preempter) and the scaling asked."""

    def __init__(self, config: Config) -> None:
        self.preempter = Preempter(_policy(config.routing))
        self.scaling: dict[str, int] = {}  # shadow resource -> instances requested now

    def reconfigure(self, layout: Layout, clients: frozenset[Client]) -> None:
        """Take new routing settings; clients the new config places are no longer ours."""
        self.preempter = self.preempter.retuned(_policy(layout.config.routing)).forget(
            lambda client: client not in clients or client in layout.shadow_path
            or client in layout.twin_service)

    def round(self, now: float, layout: Layout, forecasts: Mapping[str, SeriesForecastView],
              profile_only: frozenset[str], weights: Mapping[str, float],
              measured: Mapping[str, float] | None = None
              ) -> tuple[list[ClientChange], list[Event]]:
        """Client changes for this forecast round, and events of scaling requests changed.

        Clients placed by config are left where the config put them; series
        forecast from a client profile alone are not acted on. In
        `routing.mode: reactive` the latest `measured` rate of each series
        stands in for its forecast (a controller that acts once load is there).
        """
        config = layout.config
        if not config.routing.enabled or not forecasts:
            return [], []
        relieved = self.preempter.relieved()
        planned = ({k: Planned(v, v) for k, v in (measured or {}).items()}
                   if config.routing.mode == "reactive" else
                   {k: Planned(f.point, f.upper) for k, f in forecasts.items()
                    if k not in profile_only})
        inputs = preempt_inputs(
            config, layout.fabric, layout.paths, planned, dict(weights),
            frozenset(cast(Client, r.client) for r in relieved if r.relief == "path"))
        placed = {"link": layout.shadow_path, "service": layout.twin_service}
        kinds = {r.key: r.kind for r in inputs.resources}
        self.preempter, decisions = self.preempter.decide(
            now, inputs.resources,
            [c for c in inputs.contributions if c.client not in placed[kinds[c.resource_key]]],
            inputs.shadow,
            [d for d in inputs.detours
             if d.client not in (layout.twin_service if d.service else layout.shadow_path)])
        events = self._scaled(now, [d for d in decisions if d.kind == "scale"])
        twins_kept = {cast(Client, r.client) for r in self.preempter.relieved()
                      if r.relief == "service"}
        return client_changes(decisions, twins_kept), events

    def _scaled(self, now: float, scales: list[Decision]) -> list[Event]:
        """Record the scaling requested now; events when one appears, changes size or clears."""
        self.scaling, events = scaling_events(now, self.scaling, scales)
        return events


def client_changes(decisions: list[Decision], twins_kept: set[Client]) -> list[ClientChange]:
    """The client moves and returns of `decisions` (a service return waits while its client
    still relieves another service host, in `twins_kept`)."""
    out = []
    for d in decisions:
        if d.kind == "scale" or d.client is None:
            continue
        client = cast(Client, d.client)
        reason = f"preempt: {d.reason}"
        if d.relief == "path":
            out.append(ClientChange("path", client,
                                    "shadow" if d.kind == "move" else "primary", reason))
        elif d.kind == "move" or client not in twins_kept:
            out.append(ClientChange("service", client,
                                    "twin" if d.kind == "move" else "primary", reason))
    return out


def scaling_events(now: float, before: Mapping[str, int], scales: list[Decision]
                   ) -> tuple[dict[str, int], list[Event]]:
    """The scaling requested by `scales`, and events for requests that appeared, changed
    size or cleared since `before`."""
    requested = {d.resource: d.instances for d in scales}
    events = [event(now, "scale", link=d.resource, instances=d.instances, reason=d.reason)
              for d in scales if before.get(d.resource) != d.instances]
    events += [event(now, "scale", link=resource, instances=0,
                     reason=f"shadow {resource} fits again: no instances needed")
               for resource in sorted(set(before) - set(requested))]
    return requested, events
