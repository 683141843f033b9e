"""Reload: a new configuration built whole beside the running one, then swapped in."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sdn_shadow.config.model import Config, Network
from sdn_shadow.core.derive import edits
from sdn_shadow.core.health import fabric_index
from sdn_shadow.core.model import ReloadRefused, Updates, event
from sdn_shadow.core.planning import layout_of, planned, standing_of
from sdn_shadow.core.reconcile import delta_messages, diff
from sdn_shadow.core.roles import roles_of
from sdn_shadow.intents import Client
from sdn_shadow.openflow.incremental import Planner
from sdn_shadow.openflow.plan import paused_gc
from sdn_shadow.policy.watch import watched

if TYPE_CHECKING:
    from sdn_shadow.core.shadow import ShadowCore


def live_config(running: Config, config: Config) -> tuple[Config, str]:
    """`config` with the settings read only at start kept as `running` has them, and a
    note on what waits for a restart ('' when nothing)."""
    started_with = replace(config, controller=running.controller,
                           telemetry=running.telemetry, api=running.api)
    waiting = "" if started_with == config else (
        "; controller, telemetry and api changes take effect at the next restart")
    return started_with, waiting


def clients_of(config: Config) -> tuple[frozenset[Client], frozenset[Client]]:
    """Every shadowed network's primary hosts, and those of networks with service hosts
    (derived from the last configuration's when a few networks changed)."""
    last = _CLIENTS_OF[0] if _CLIENTS_OF else None
    changed = None if last is None else edits(last[0], config.networks)
    if last is not None and changed is not None:
        _, clients, servable = last
        for was, now in changed:
            if was is not None and _served(was) == _served(now):
                continue  # the same clients (a session edited, say)
            if was is not None:
                break  # clients changed in place: the whole union again
            more, serves = _served(now)
            clients, servable = clients | more, servable | serves
        else:
            _CLIENTS_OF[:] = [(config.networks, clients, servable)]
            return clients, servable
    mine = [(n, _clients(n)) for n in config.networks if n.shadow]
    clients = frozenset[Client]().union(*(c for _, c in mine))
    servable = frozenset[Client]().union(*(c for n, c in mine
                                           if n.shadow and n.shadow.services))
    _CLIENTS_OF[:] = [(config.networks, clients, servable)]
    return clients, servable


_CLIENTS_OF: list[tuple[tuple[Network, ...], frozenset[Client], frozenset[Client]]] = []


def _served(net: Network) -> tuple[frozenset[Client], frozenset[Client]]:
    """`net`'s part of `clients_of`: its clients, and them again if it has service hosts."""
    if net.shadow is None:
        return frozenset(), frozenset()
    mine = _clients(net)
    return mine, mine if net.shadow.services else frozenset()


_CLIENTS: dict[int, tuple[Network, frozenset[Client]]] = {}


def _clients(net: Network) -> frozenset[Client]:
    """(network, host) of each of `net`'s primary hosts, kept while `net` is the same."""
    kept = _CLIENTS.get(id(net))
    if kept is None or kept[0] is not net:
        if len(_CLIENTS) > 4096:
            _CLIENTS.clear()
        kept = _CLIENTS[id(net)] = (net, frozenset((net.name, h.name) for h in net.hosts))
    return kept[1]


def reloaded(core: ShadowCore, now: float, config: Config, reason: str | None) -> Updates:
    """Take `config` live on `core`; the changes per switch, make-before-break.

    The runtime state carries over where the new configuration still has
    its subject: failed links, clients preemptive routing has moved, rates,
    forecasts, profiles, allocation scores and events. The switches must stay
    the same ones (ReloadRefused otherwise). Settings read only at start
    (controller, telemetry, api) keep their old values until a restart.
    Everything new is built first and only then swapped in, so a failure
    leaves the running state whole. `reason`, when given, leads the event's.
    """
    if {s.dpid for s in config.switches} != set(core.plans):
        raise ReloadRefused("fabric.switches: adding or removing switches needs a "
                            "controller restart")
    with paused_gc():  # what it makes lives on: no collector passes over it meanwhile
        return _reloaded(core, now, config, reason)


def _reloaded(core: ShadowCore, now: float, config: Config, reason: str | None) -> Updates:
    config, waiting = live_config(core.config, config)
    layout = layout_of(config, core.layout)
    clients, servable = clients_of(config)
    index = fabric_index(config)
    watched_networks = {n for n, _ in watched(config)}
    was = core.intents
    kept = was.kept(clients=clients, links=index[1].keys(),
                    standable=standing_of(config)[0].keys(),
                    networks={n.name for n in config.networks if n.shadow is not None})
    roles = roles_of(config, kept.roles_swapped)
    intents = replace(
        kept.with_blocks({k: v for k, v in was.blocks.items() if k[0] in watched_networks}),
        shadow_path=layout.shadow_path | (was.shadow_path - core.layout.shadow_path) & clients,
        twin_service=(layout.twin_service
                      | ((was.twin_service - core.layout.twin_service) & servable)),
        taken_over=kept.taken_over & roles.standable.keys())
    capacity = core.capacity.reloaded(config, core.plans)
    # The same switches: the running planner is brought to the new configuration, and
    # only the parts it changed are rebuilt (an update is all or nothing, so a failure
    # leaves it as it was). Switches renamed: a fresh start, diffed whole.
    same = tuple((s.name, s.dpid) for s in config.switches) == core.planner.switches
    planner = core.planner if same else Planner(config)
    deltas, served = planned(planner, intents, layout, core.held(), keep_rates=False)
    plans = planner.by_dpid()
    out = delta_messages(planner, deltas) if same else diff(core.plans, plans)

    core.layout, core.capacity, core.roles, core.planner = layout, capacity, roles, planner
    core.health_state.reconfigure(config, index)
    core.preemption.reconfigure(layout, clients)
    core.watch.reconfigure(config)
    core._swap_in(intents, plans, served, now, out.keys() if same else None)
    changed = sum(len(msgs) - 1 for msgs in out.values())
    core.reloads = {"generation": core.reloads["generation"] + 1, "at": now, "errors": []}
    said = f"reloaded: {changed} changes on {len(out)} switches{waiting}"
    core.events.append(event(now, "config", result="applied",
                             reason=said if reason is None else f"{reason}: {said}"))
    return out
