"""Best-effort meters: each network policed, per link direction, to what others' holds leave."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from sdn_shadow.config.model import Config
from sdn_shadow.openflow.messages import Meter, content_hash
from sdn_shadow.openflow.plan import SECURITY_METERS, BestEffortMeter, ShadowPaths, SwitchPlan
from sdn_shadow.topology import Fabric


def link_holders(paths: ShadowPaths) -> dict[tuple[str, str], set[str]]:
    """Link direction (a, b) -> the shadow networks whose shadow paths cross it: they hold
    capacity there wherever the link's capacity is known."""
    holders: dict[tuple[str, str], set[str]] = {}
    for name, pairs in paths.items():  # the same paths moved clients take
        for pair in pairs.values():
            for a, b in zip(pair.shadow, pair.shadow[1:], strict=False):
                holders.setdefault((a, b), set()).add(name)
    return holders


def best_effort_meters(plans: dict[str, SwitchPlan], fabric: Fabric, config: Config,
                       paths: ShadowPaths, held: Mapping[str, float],
                       holders: Mapping[tuple[str, str], set[str]] | None = None) -> None:
    """A meter per (link direction, network) wherever other networks hold capacity.

    A shadow network holds capacity on every link of its shadow paths (both
    directions) that has a known capacity. There, each *other* network's
    traffic is policed down to what those holds leave free; a network never
    competes with its own hold. `holders`: `link_holders(paths)`, when the
    caller keeps it.
    """
    names = sorted(n.name for n in config.networks)
    taken: dict[str, set[int]] = {}
    made: dict[tuple[int, int], Meter] = {}
    for (a, b), reservers in sorted((link_holders(paths) if holders is None
                                     else holders).items()):
        capacity = fabric.graph.edges[a, b].get("capacity_mbps")
        if not capacity:
            continue
        plan, port = plans[a], fabric.port_towards(a, b)
        ids = taken.setdefault(a, {spec.meter_id for spec in plan.best_effort.values()})
        everyone = frozenset(reservers)  # one set for the link: a meter leaves out its own
        alone = next(iter(everyone)) if len(everyone) == 1 else None
        for network in names:
            if network == alone:
                continue  # nobody else holds capacity here
            meter_id = best_effort_id(plan, port, network, ids)
            ids.add(meter_id)
            spec = BestEffortMeter(meter_id, (a, b), network, int(capacity * 1000), everyone)
            plan.best_effort[(port, network)] = spec
            rate = spec.rate(held)  # one meter object for the same id and rate anywhere
            meter = made.get((meter_id, rate))
            if meter is None:
                meter = made[(meter_id, rate)] = spec.meter(held)
            plan.meters[meter_id] = meter


BEST_EFFORT_IDS = SECURITY_METERS - 1  # best-effort meter ids are 1 .. 59,999


def best_effort_id(plan: SwitchPlan, port: int, network: str,
                   taken: set[int] | None = None) -> int:
    """The meter id of `network`'s best-effort meter out of `port`: from a hash of the
    two, so that adding or removing another network keeps it (the next free id on the
    rare clash, in the compiler's fixed order). `taken`: the ids `plan`'s best-effort
    meters hold, when the caller keeps count."""
    if taken is None:
        taken = {spec.meter_id for spec in plan.best_effort.values()}
    meter_id = _home_id(port, network)
    while meter_id in taken:
        meter_id = meter_id % BEST_EFFORT_IDS + 1
    return meter_id


@lru_cache(maxsize=1 << 17)
def _home_id(port: int, network: str) -> int:
    """Where `network`'s best-effort meter id out of `port` starts (a hash: kept)."""
    return content_hash("best-effort", port, network) % BEST_EFFORT_IDS + 1
