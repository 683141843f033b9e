"""Takeover and roles: which hosts a twin can stand for, and the intents operators ask for.

Pure functions: each takes the current intents and returns the new ones
(ValueError for a request the configuration does not allow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sdn_shadow.config.model import Config, Network, Switch
from sdn_shadow.core.derive import edits
from sdn_shadow.core.health import ProbeTargets
from sdn_shadow.intents import Client, Intents
from sdn_shadow.policy.takeover import standable, swapped


@dataclass(frozen=True)
class Roles:
    """Hosts a twin can stand for (-> the twin's name) and where their probes go."""

    standable: Mapping[Client, str]
    probe_targets: ProbeTargets


def roles_of(config: Config, roles_swapped: frozenset[Client]) -> Roles:
    """The hosts twins can stand for, and their probe targets (by dpid, port, MAC and IP),
    with roles swapped as `roles_swapped` says."""
    roles = swapped(config, roles_swapped)
    last = _LAST[0] if _LAST else None
    found = None if last is None else _roles_from(last, roles)
    if found is None:
        standing: dict[Client, str] = {}
        targets: ProbeTargets = {}
        for net in roles.networks:
            standing.update(network_roles(net, roles.switches)[0])
        # In (network, host) order: each network's targets are in its hosts' order
        # already (and no two networks aim at one port): networks in name order do.
        for net in sorted(roles.networks, key=_name):
            targets.update(network_roles(net, roles.switches)[1])
        found = Roles(standing, targets)
    _LAST[:] = [(roles, found, max((n.name for n in roles.networks), default=""))]
    return found


_LAST: list[tuple[Config, Roles, str]] = []
"""The last configuration (roles swapped) `roles_of` was asked about, its roles, and the
name of its last network in name order."""


def _roles_from(last: tuple[Config, Roles, str], roles: Config) -> Roles | None:
    """`roles_of` for `roles` from `last`'s, when a few networks changed (their standing
    hosts and probe targets the same) or were added after every other in name order."""
    was_config, found, highest = last
    changed = (edits(was_config.networks, roles.networks)
               if was_config.switches == roles.switches else None)
    if changed is None:
        return None
    standing, targets = found.standable, found.probe_targets
    for was, now in changed:
        mine = network_roles(now, roles.switches)
        if was is not None:
            if network_roles(was, roles.switches) != mine:
                return None
            continue
        if now.name <= highest:
            return None  # its targets go between others': in order again, whole
        standing, targets = {**standing, **mine[0]}, {**targets, **mine[1]}
        highest = now.name
    if standing is found.standable and targets is found.probe_targets:
        return found
    return Roles(standing, targets)


def _name(net: Network) -> str:
    return net.name


_ROLES: dict[tuple[int, int], tuple[Network, object, dict[Client, str], ProbeTargets]] = {}


def network_roles(net: Network, switches: tuple[Switch, ...]
                   ) -> tuple[dict[Client, str], ProbeTargets]:
    """One network's part of `roles_of`, kept while the network (and the switches) are
    the same objects: an edit of one network recomputes its own alone."""
    key = (id(net), id(switches))
    kept = _ROLES.get(key)
    if kept is None or kept[0] is not net or kept[1] is not switches:
        if len(_ROLES) > 4096:
            _ROLES.clear()
        standing = standable(Config(switches, (), (net,)))
        dpids = {s.name: s.dpid for s in switches}
        targets: ProbeTargets = {}
        for client in sorted(standing):
            host = net.host(client[1])
            targets[(dpids[host.switch], host.port, host.mac, str(host.ip))] = (
                "host", client[0], client[1])
        kept = _ROLES[key] = (net, switches, standing, targets)
    return kept[2], kept[3]


def shadowed_network(config: Config, network: str) -> Network:
    """Network `network`, which must have a shadow (ValueError)."""
    net = next((n for n in config.networks if n.name == network), None)
    if net is None or net.shadow is None:
        raise ValueError(f"{network}: no such network with a shadow")
    return net


def active_networks(config: Config, intents: Intents) -> frozenset[str]:
    """Networks whose shadow is active, by configuration or by decision."""
    return intents.shadow_active | {n.name for n in config.networks
                                    if n.shadow and n.shadow.active}


def host_served(intents: Intents, roles: Roles, network: str, host: str, by: str) -> Intents:
    """`host` served by its twin (`by="twin"`, a takeover) or by itself again."""
    new = intents.with_host_served((network, host), by)
    if by == "twin" and (network, host) not in roles.standable:
        raise ValueError(f"{network}/{host}: no twin with its MAC and IP to stand in")
    return new


def shadow_activated(config: Config, intents: Intents, roles: Roles, network: str,
                     active: bool) -> Intents:
    """`network`'s shadow serving every host with a twin (or not) by decision; a network
    active by configuration is deactivated by changing the configuration (ValueError)."""
    net = shadowed_network(config, network)
    if not any(n == network for n, _ in roles.standable):
        raise ValueError(f"{network}: no twin has its primary host's MAC and IP, so none "
                         "can serve in its place")
    if not active and net.shadow is not None and net.shadow.active:
        raise ValueError(f"{network}: its shadow is active by configuration "
                         "(shadow.active); change the configuration to deactivate it")
    return intents.with_shadow_active(network, active)


def roles_swapped(config: Config, intents: Intents, roles: Roles, network: str
                  ) -> tuple[Intents, frozenset[Client]]:
    """Every twin of `network` made the primary (or back), and the hosts that swap.

    Hosts its twins serve already keep their port; an operator's activation
    of the network ends, its work done.
    """
    net = shadowed_network(config, network)
    mine = frozenset(c for c in roles.standable if c[0] == network)
    if not mine:
        raise ValueError(f"{network}: no twin has its primary host's MAC and IP, so none "
                         "can become the primary")
    if net.shadow is not None and net.shadow.active:
        raise ValueError(f"{network}: its shadow is active by configuration "
                         "(shadow.active); swap the ports in the configuration instead")
    return replace(intents, taken_over=intents.taken_over - mine,
                   roles_swapped=intents.roles_swapped ^ mine,
                   shadow_active=intents.shadow_active - {network}), mine
