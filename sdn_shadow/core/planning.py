"""Planning: the configuration's layout, and plans brought to new intents incrementally."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sdn_shadow.config.model import Config, Network
from sdn_shadow.core.derive import edits
from sdn_shadow.core.model import Event, event
from sdn_shadow.core.roles import network_roles
from sdn_shadow.intents import Client, Intents
from sdn_shadow.openflow.compiler import ShadowPaths, shadow_paths
from sdn_shadow.openflow.incremental import Inputs, Planner, SwitchDelta
from sdn_shadow.policy.takeover import serving, swapped
from sdn_shadow.topology import Fabric


@dataclass(frozen=True)
class Layout:
    """A configuration with what is derived from it alone: its fabric, its shadow paths,
    and the clients it places itself (on shadow paths, at twins)."""

    config: Config
    fabric: Fabric
    paths: ShadowPaths
    shadow_path: frozenset[Client]
    twin_service: frozenset[Client]


def layout_of(config: Config, previous: Layout | None = None) -> Layout:
    """`config`'s layout; the fabric and unchanged paths of `previous` are reused."""
    if previous is not None and (config.switches, config.links) == (
            previous.config.switches, previous.config.links):
        fabric = previous.fabric
        paths = shadow_paths(config, fabric, reuse=(previous.config, previous.paths))
    else:
        fabric = Fabric(config)
        paths = shadow_paths(config, fabric)
    return Layout(config, fabric, paths, config_shadow_path(config), config_twin_service(config))


def config_shadow_path(config: Config) -> frozenset[Client]:
    """The (network, host) clients the configuration puts on shadow paths (`path: shadow`)."""
    return frozenset((n.name, host) for n in config.networks if n.shadow
                     for host, path in n.shadow.clients if path == "shadow")


def config_twin_service(config: Config) -> frozenset[Client]:
    """The (network, host) clients the configuration sends to twins (`service: twin`)."""
    return frozenset((n.name, host) for n in config.networks if n.shadow
                     for host, service in n.shadow.client_services if service == "twin")


def planned(planner: Planner, intents: Intents, layout: Layout, held: Mapping[str, float],
            keep_rates: bool = True) -> tuple[dict[str, SwitchDelta], frozenset[Client]]:
    """Bring `planner`'s plans to `intents` over `layout`: what changed on each switch,
    and the hosts twins serve.

    The configuration as served (roles swapped, twins standing in) is what
    gets planned; the layout's own shadow paths are reused when nothing
    changes them. Only the parts whose inputs changed are rebuilt.
    """
    config = layout.config
    roles = swapped(config, intents.roles_swapped)
    standing, active = standing_of(roles)
    served = (intents.taken_over | active
              | ({c for c in standing if c[0] in intents.shadow_active}
                 if intents.shadow_active else frozenset()))
    served_layout = serving(roles, served)
    paths = (layout.paths if served_layout is config
             else shadow_paths(served_layout, layout.fabric, reuse=(config, layout.paths)))
    deltas = planner.update(Inputs(
        served_layout, layout.fabric, paths, held, intents.shadow_path, intents.failed_links,
        intents.twin_service, intents.blocks), keep_rates)
    return deltas, frozenset(served)


_STANDING: dict[int, tuple[Config, dict[Client, str], frozenset[Client]]] = {}


def standing_of(config: Config) -> tuple[dict[Client, str], frozenset[Client]]:
    """`standable(config)` and `active_hosts(config)`, kept for the last configurations
    (a change that keeps the configuration does not walk every host again)."""
    kept = _STANDING.get(id(config))
    if kept is None or kept[0] is not config:
        last = next(reversed(_STANDING.values())) if _STANDING else None
        if len(_STANDING) >= 4:
            del _STANDING[next(iter(_STANDING))]
        derived = None if last is None else _standing_from(last, config)
        if derived is None:
            standing: dict[Client, str] = {}
            active: set[Client] = set()  # = active_hosts(config)
            for net in config.networks:
                mine = network_roles(net, config.switches)[0]
                standing.update(mine)
                if _active(net):
                    active.update(mine)
            derived = standing, frozenset(active)
        kept = _STANDING[id(config)] = (config, *derived)
    return kept[1], kept[2]


def _standing_from(last: tuple[Config, dict[Client, str], frozenset[Client]], config: Config
                   ) -> tuple[dict[Client, str], frozenset[Client]] | None:
    """`standing_of(config)` from `last`'s, when `config` changes a few networks' hosts
    (the same objects when their standing hosts are the same); None: derive it whole."""
    was_config, standing, active = last
    changed = (edits(was_config.networks, config.networks)
               if was_config.switches == config.switches else None)
    if changed is None:
        return None
    for was, now in changed:
        mine = network_roles(now, config.switches)[0]
        if was is not None:
            if network_roles(was, config.switches)[0] != mine or _active(was) != _active(now):
                return None
            continue
        standing = {**standing, **mine}  # added at the end, as a whole walk puts it
        if _active(now):
            active = active | frozenset(mine)
    return standing, active


def _active(net: Network) -> bool:
    return net.shadow is not None and net.shadow.active


def networks_served(standable: Mapping[Client, str], served: frozenset[Client]
                    ) -> frozenset[str]:
    """Networks whose every host with a twin is served by it (the shadow carries it all).

    Counted from the served side: a network is carried when as many of its hosts are
    served as it has standable ones (those counts kept per `standable` mapping, so a
    change that keeps the roles does not walk every host of the fabric again)."""
    hits: dict[str, int] = {}
    for client in served:
        if client in standable:
            hits[client[0]] = hits.get(client[0], 0) + 1
    if not hits:
        return frozenset()
    counts = _counts(standable)
    return frozenset(net for net, n in hits.items() if n == counts[net])


_COUNTS: list[tuple[Mapping[Client, str], dict[str, int]]] = []


def _counts(standable: Mapping[Client, str]) -> dict[str, int]:
    """Standable hosts per network, kept for the last two mappings asked about."""
    for kept, counts in _COUNTS:
        if kept is standable:
            return counts
    counts = {}
    for net, _ in standable:
        counts[net] = counts.get(net, 0) + 1
    _COUNTS[:] = [(standable, counts), *_COUNTS[:1]]
    return counts


def serving_events(now: float, before: frozenset[str], after: frozenset[str]) -> list[Event]:
    """Events for networks whose shadow came to carry them all, or stopped to."""
    events = [event(now, "shadow_serving", network=net,
                    reason=f"every host of {net} with a twin is served by it: the shadow "
                           "carries the network, the primary stands by")
              for net in sorted(after - before)]
    events += [event(now, "primary_serving", network=net,
                     reason=f"{net}'s primary hosts serve again")
               for net in sorted(before - after)]
    return events
