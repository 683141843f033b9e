"""What preemptive routing looks at: link and client forecasts mapped onto paths (pure).

Turns the forecaster's series (`link:<a>:<b>`, `client:<net>:<host>:tx`) into
`preempt` inputs. The flow counters say how much a client sends, not to whom,
so its planned rate is split evenly over the switches of the other hosts of
its network and charged to the links of the routes there (primary) and of the
shadow paths there (its detour when moved). A move takes all of a client's
traffic onto its shadow paths, so in a ring a detour can cross the very link
being relieved; the Preempter then asks for scaling instead of moving. Rates
are planned by the network's allocation strategy: the upper bound for
conservative, the point for aggressive, the dynamic weight in between.

Service hosts (`shadow.services`) are resources too: `service:<net>:<host>`
is loaded by the host's forecast rx, each other client of the network
contributing its tx split evenly over the network's other hosts (the same
guess as for links), and relieving a client means steering its new
connections to the twin `twin:<net>:<host>` (of `twin_capacity`). A
service host's rx is counted where every packet for it passes once, before
connection tracking, so it is the service's whole load as if nobody were
relieved (what the Preempter wants). Steering moves only new connections,
so the host's own load falls as the old ones end, not at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sdn_shadow.config.model import Config
from sdn_shadow.paths import PathPair
from sdn_shadow.policy.preempt import Contribution, Detour, Resource, ShadowResource
from sdn_shadow.topology import Fabric


@dataclass(frozen=True, slots=True)
class Planned:
    """A series' forecast: point and upper bound (bytes/s)."""

    point: float
    upper: float

    def at(self, weight: float) -> float:
        """The planned rate: point + weight * (upper - point)."""
        return self.point + weight * (self.upper - self.point)


@dataclass(frozen=True, slots=True)
class PreemptInputs:
    """Everything `Preempter.decide` takes."""

    resources: list[Resource]
    contributions: list[Contribution]
    shadow: list[ShadowResource]
    detours: list[Detour]


def _links(path: tuple[str, ...]) -> list[str]:
    return [f"link:{a}:{b}" for a, b in zip(path, path[1:], strict=False)]


def preempt_inputs(config: Config, fabric: Fabric,
                   paths: Mapping[str, Mapping[tuple[str, str], PathPair]],
                   forecasts: Mapping[str, Planned], weights: Mapping[str, float],
                   relieved: frozenset[tuple[str, str]]) -> PreemptInputs:
    """Primary links as if preemption had moved nobody, shadow links without its movers.

    `paths` are each shadow network's path pairs, `weights` each network's
    strategy weight (1 conservative, 0 aggressive), `relieved` the clients
    preemptive routing has moved onto their shadow paths (the Preempter
    accounts for those itself; clients moved by config are simply traffic).
    """
    client_routes: dict[tuple[str, str], tuple[dict[str, float], dict[str, float]]] = {}
    for network in config.networks:
        if network.shadow is None or network.name not in paths:
            continue
        weight = weights.get(network.name, 1.0)
        for host in network.hosts:
            f = forecasts.get(f"client:{network.name}:{host.name}:tx")
            if f is None:
                continue
            remote = sorted({o.switch for o in network.hosts} - {host.switch})
            if not remote:
                continue
            share = max(0.0, f.at(weight)) / len(remote)
            primary: dict[str, float] = {}
            shadow: dict[str, float] = {}
            for switch in remote:
                for key in _links(tuple(fabric.path(host.switch, switch) or ())):
                    primary[key] = primary.get(key, 0.0) + share
                for key in _links(paths[network.name][(host.switch, switch)].shadow):
                    shadow[key] = shadow.get(key, 0.0) + share
            client_routes[(network.name, host.name)] = (primary, shadow)
    link_weight = max(weights.values(), default=1.0)  # the most cautious network's
    measured = {key: max(0.0, f.at(link_weight)) for key, f in forecasts.items()
                if key.startswith("link:")}
    # Relieved clients' traffic is on their shadow links now, not on their primary ones.
    on_primary = dict(measured)
    on_shadow = dict(measured)
    for client, (primary, shadow) in client_routes.items():
        if client in relieved:
            for key, rate in primary.items():
                on_primary[key] = on_primary.get(key, 0.0) + rate
            for key, rate in shadow.items():
                on_shadow[key] = max(0.0, on_shadow.get(key, 0.0) - rate)
    capacity = {}
    for a, b in fabric.graph.edges:
        mbps = fabric.graph.edges[a, b].get("capacity_mbps")
        for x, y in ((a, b), (b, a)):
            capacity[f"link:{x}:{y}"] = mbps * 1e6 / 8 if mbps else None
    resources = [Resource(key, "link", capacity.get(key), on_primary.get(key, 0.0))
                 for key in sorted(capacity)]
    shadow_resources = [ShadowResource(key, capacity.get(key), on_shadow.get(key, 0.0))
                        for key in sorted(capacity)]
    contributions = [Contribution(client, key, rate)
                     for client, (primary, _) in sorted(client_routes.items())
                     for key, rate in sorted(primary.items())]
    detours = [Detour(client, key, rate)
               for client, (_, shadow) in sorted(client_routes.items())
               for key, rate in sorted(shadow.items())]
    inputs = PreemptInputs(resources, contributions, shadow_resources, detours)
    _add_services(config, forecasts, weights, inputs)
    return inputs


def _add_services(config: Config, forecasts: Mapping[str, Planned], weights: Mapping[str, float],
              out: PreemptInputs) -> None:
    """Add each service host, its clients' shares and its twin to `out`."""
    for network in config.networks:
        if network.shadow is None or len(network.hosts) < 2:
            continue
        weight = weights.get(network.name, 1.0)
        for service in network.shadow.services:
            name = service.host
            key, twin = f"service:{network.name}:{name}", f"twin:{network.name}:{name}"
            capacity = service.capacity * 1e6 / 8 if service.capacity else None
            twin_mbps = service.twin_capacity or service.capacity
            twin_capacity = twin_mbps * 1e6 / 8 if twin_mbps else None
            shares = {}
            for host in (h for h in network.hosts if h.name != name):
                f = forecasts.get(f"client:{network.name}:{host.name}:tx")
                if f is not None:
                    shares[(network.name, host.name)] = (max(0.0, f.at(weight))
                                                         / (len(network.hosts) - 1))
            rx = forecasts.get(f"client:{network.name}:{name}:rx")
            planned = max(0.0, rx.at(weight)) if rx is not None else 0.0
            out.resources.append(Resource(key, "service", capacity, planned))
            out.shadow.append(ShadowResource(twin, twin_capacity, 0.0))
            for client, rate in sorted(shares.items()):
                out.contributions.append(Contribution(client, key, rate))
                out.detours.append(Detour(client, twin, rate, service=key))
