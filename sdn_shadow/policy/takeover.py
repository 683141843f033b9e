"""Twin takeover as a configuration: the network as it is served while twins stand in (pure).

When a primary host stops answering, its twin takes its place: the twin's
port becomes the host's attachment (same IP and MAC, so nobody has to learn
anything new), the twin stops being a mirror destination, and the dead
host's old port is simply not classified any more. Expressed as a
transformation of the configuration, the compiler needs no second code path:
`serving(config, taken_over)` is compiled like any configuration, and the
usual make-before-break diff moves the traffic. A twin with its own MAC
cannot stand in (senders would address the dead host's MAC): `standable`
says which hosts can be taken over.

A role swap (`swapped`) makes a takeover permanent the other way round: the
host keeps the twin's port for good and the twin moves to the host's old
port, where it receives the mirror copies as any twin does. Names follow the
roles, not the machines, so the rest of the configuration (sessions,
services, clients) needs no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sdn_shadow.config.model import Config, Network

Client = tuple[str, str]  # (network, primary host)


def standable(config: Config) -> dict[Client, str]:
    """Every primary host that has a twin with its MAC and IP, and that twin's name."""
    out: dict[Client, str] = {}
    for network in config.networks:
        for client, twin in _standable_in(network).items():
            out.setdefault(client, twin)
    return out


def _standable_in(network: Network) -> dict[Client, str]:
    """`standable` of one network."""
    out: dict[Client, str] = {}
    if network.shadow is None:
        return out
    for twin in network.shadow.hosts:
        host = network.host(twin.primary)
        if twin.mac == host.mac and twin.ip == host.ip:
            out.setdefault((network.name, host.name), twin.name)
    return out


def active_hosts(config: Config) -> frozenset[Client]:
    """The hosts served by twins because their network's shadow is active (`shadow.active`)."""
    twins = standable(config)
    return frozenset(client for client in twins
                     if (shadow := config.network(client[0]).shadow) and shadow.active)


def swapped(config: Config, swaps: frozenset[Client]) -> Config:
    """`config` with each host in `swaps` and its twin exchanging their ports."""
    return _per_network(config, swaps, _swap)


def _per_network(config: Config, clients: frozenset[Client],
                 change: Callable[[Network, dict[str, str]], Network]) -> Config:
    """`config` with `change(network, {host: twin})` applied where `clients` has standable hosts."""
    if not clients:
        return config
    hosts: dict[str, list[str]] = {}
    for net, host in clients:
        hosts.setdefault(net, []).append(host)
    networks = []
    for network in config.networks:  # only the networks with clients are looked into
        mine = None
        if network.name in hosts:
            twins = _standable_in(network)
            mine = {host: twins[(network.name, host)] for host in hosts[network.name]
                    if (network.name, host) in twins}
        networks.append(change(network, mine) if mine else network)
    return replace(config, networks=tuple(networks))


def _swap(network: Network, twin_of: dict[str, str]) -> Network:
    assert network.shadow is not None
    at = {t.name: t for t in network.shadow.hosts}
    host_of = {twin: host for host, twin in twin_of.items()}
    where = {h.name: h for h in network.hosts}
    hosts = tuple(replace(h, switch=at[twin_of[h.name]].switch, port=at[twin_of[h.name]].port)
                  if h.name in twin_of else h for h in network.hosts)
    twins = tuple(replace(t, switch=where[host_of[t.name]].switch,
                          port=where[host_of[t.name]].port)
                  if t.name in host_of else t for t in network.shadow.hosts)
    return replace(network, hosts=hosts, shadow=replace(network.shadow, hosts=twins))


def serving(config: Config, taken_over: frozenset[Client]) -> Config:
    """`config` with each taken-over host attached at its twin's port, the twin retired."""
    return _per_network(config, taken_over, _stand_in)


def _stand_in(network: Network, twin_of: dict[str, str]) -> Network:
    assert network.shadow is not None
    shadow = network.shadow
    retired = set(twin_of.values())
    at = {t.name: t for t in shadow.hosts}
    hosts = tuple(replace(h, switch=at[twin_of[h.name]].switch, port=at[twin_of[h.name]].port)
                  if h.name in twin_of else h for h in network.hosts)
    sessions = []
    for session in shadow.mirror:
        to = tuple(name for name in session.to if name not in retired)
        if to:
            sessions.append(replace(session, to=to))
    shadow = replace(shadow, hosts=tuple(t for t in shadow.hosts if t.name not in retired),
                     mirror=tuple(sessions))
    return replace(network, hosts=hosts, shadow=shadow)
