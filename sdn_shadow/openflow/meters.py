"""Best-effort meters: each network policed, per link direction, to what others' holds leave."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from sdn_shadow.config.model import Config
from sdn_shadow.openflow.messages import Meter, content_hash
from sdn_shadow.openflow.pipeline import PipelineError
from sdn_shadow.openflow.plan import SECURITY_METERS, BestEffortMeter, ShadowPaths, SwitchPlan
from sdn_shadow.paths import PathPair
from sdn_shadow.topology import Fabric

IdKey = tuple[str, int, str]
"""A best-effort meter on one switch: (the link's far switch, the port towards it, network)."""


def link_holders(paths: ShadowPaths) -> dict[tuple[str, str], set[str]]:
    """Link direction (a, b) -> the shadow networks whose shadow paths cross it: they hold
    capacity there wherever the link's capacity is known."""
    holders: dict[tuple[str, str], set[str]] = {}
    for name, pairs in paths.items():  # the same paths moved clients take
        for pair in pairs.values():
            for a, b in zip(pair.shadow, pair.shadow[1:], strict=False):
                holders.setdefault((a, b), set()).add(name)
    return holders


def crossed_links(pairs: Mapping[tuple[str, str], PathPair]) -> frozenset[tuple[str, str]]:
    """The link directions one network's shadow paths `pairs` cross (its part of
    `link_holders`)."""
    out: set[tuple[str, str]] = set()
    for pair in pairs.values():
        shadow = pair.shadow
        out.update(zip(shadow, shadow[1:], strict=False))
    return frozenset(out)


def best_effort_meters(plans: dict[str, SwitchPlan], fabric: Fabric, config: Config,
                       paths: ShadowPaths, held: Mapping[str, float],
                       holders: Mapping[tuple[str, str], set[str]] | None = None) -> None:
    """A meter per (link direction, network) wherever other networks hold capacity.

    A shadow network holds capacity on every link of its shadow paths (both
    directions) that has a known capacity. There, each *other* network's
    traffic is policed down to what those holds leave free; a network never
    competes with its own hold. `holders`: `link_holders(paths)`, when the
    caller keeps it. Ids: see `MeterIds` (they do not depend on the order
    networks came in, so the incremental planner keeps them per switch).
    """
    names = sorted(n.name for n in config.networks)
    keys: dict[str, list[IdKey]] = {}
    found: list[tuple[str, str, int, int, frozenset[str]]] = []
    for (a, b), reservers in (link_holders(paths) if holders is None else holders).items():
        capacity = fabric.graph.edges[a, b].get("capacity_mbps")
        if not capacity or not reservers:
            continue
        port = fabric.port_towards(a, b)
        everyone = frozenset(reservers)
        plans[a].holds[(a, b)] = everyone
        found.append((a, b, port, int(capacity * 1000), everyone))
        alone = next(iter(everyone)) if len(everyone) == 1 else None
        keys.setdefault(a, []).extend((b, port, n) for n in names if n != alone)
    ids = {switch: MeterIds.of(switch_keys) for switch, switch_keys in keys.items()}
    made: dict[tuple[int, int], Meter] = {}
    for a, b, port, capacity_kbps, everyone in found:
        plan, by_key = plans[a], ids[a].ids
        alone = next(iter(everyone)) if len(everyone) == 1 else None
        for network in names:
            if network == alone:
                continue  # nobody else holds capacity here
            spec = BestEffortMeter(by_key[(b, port, network)], (a, b), network, capacity_kbps)
            plan.best_effort[(port, network)] = spec
            rate = spec.rate(held, everyone)  # one meter object per id and rate anywhere
            meter = made.get((spec.meter_id, rate))
            if meter is None:
                meter = made[(spec.meter_id, rate)] = spec.meter(held, everyone)
            plan.meters[spec.meter_id] = meter


BEST_EFFORT_IDS = SECURITY_METERS - 1  # best-effort meter ids are 1 .. 59,999


class MeterIds:
    """The best-effort meter ids of one switch, kept as its meters come and go.

    Each meter starts at its home id (a hash of its port and network); on a
    clash it takes the next free id, as if the meters took ids one by one in
    the order of their keys (far switch, port, network). The ids depend on the
    set of meters only, never on the order they came in: `change` re-places
    only the runs of taken ids a change touches, and lands where `of` would
    for the whole set. `size`: how many ids there are (small in tests).
    """

    def __init__(self, size: int = BEST_EFFORT_IDS) -> None:
        self.size = size
        self.ids: dict[IdKey, int] = {}
        self.keys: dict[int, IdKey] = {}

    @staticmethod
    def of(keys: Iterable[IdKey], size: int = BEST_EFFORT_IDS) -> MeterIds:
        """The ids of meters `keys`, placed in their order."""
        table = MeterIds(size)
        keys = list(keys)
        if len(keys) > size:
            raise PipelineError("more best-effort meters on a switch than meter ids")
        placed = table._place(sorted(keys), frozenset())
        if not isinstance(placed, dict):  # pragma: no cover - nothing is taken yet
            raise PipelineError("best-effort meter ids: placing into an empty table")
        table._fill(placed)
        return table

    def copy(self) -> MeterIds:
        """A copy to change without changing this one."""
        twin = MeterIds(self.size)
        twin.ids, twin.keys = dict(self.ids), dict(self.keys)
        return twin

    def home(self, key: IdKey) -> int:
        """Where `key`'s id starts."""
        return _home_id(key[1], key[2], self.size)

    def change(self, added: Iterable[IdKey], removed: Iterable[IdKey]) -> set[IdKey]:
        """Add meters `added`, drop `removed`: the kept or added ones whose id is new."""
        added, removed = set(added) - self.ids.keys(), set(removed) & self.ids.keys()
        if not added and not removed:
            return set()
        if len(self.ids) + len(added) - len(removed) > self.size:
            raise PipelineError("more best-effort meters on a switch than meter ids")
        region: set[int] = set()
        for key in removed:
            region |= self._run_at(self.ids[key])
        for key in added:
            region |= self._run_at(self.home(key))
        while True:  # a placement that runs into another run of taken ids takes it in
            members = {self.keys[i] for i in region if i in self.keys} - removed | added
            placed = self._place(sorted(members), region)
            if isinstance(placed, dict):
                break
            region |= self._run_at(placed)
        for key in removed:
            del self.keys[self.ids.pop(key)]
        moved = {key for key, meter_id in placed.items() if self.ids.get(key) != meter_id}
        for key in moved - added:
            del self.keys[self.ids.pop(key)]
        self._fill({key: placed[key] for key in moved})
        return moved

    def _fill(self, placed: Mapping[IdKey, int]) -> None:
        for key, meter_id in placed.items():
            self.ids[key] = meter_id
            self.keys[meter_id] = key

    def _place(self, members: list[IdKey], region: set[int] | frozenset[int]
               ) -> dict[IdKey, int] | int:
        """`members` (sorted) placed anew into `region` and the free ids; or the first id
        taken outside `region` that a placement runs into."""
        taken: set[int] = set()
        out: dict[IdKey, int] = {}
        others = self.keys
        for key in members:
            meter_id = self.home(key)
            while meter_id in taken or meter_id in others:
                if meter_id not in taken:
                    if meter_id not in region:
                        return meter_id  # another run: it joins the placement
                    break  # held by a member or a meter leaving: free here
                meter_id = meter_id % self.size + 1
            taken.add(meter_id)
            out[key] = meter_id
        return out

    def _run_at(self, meter_id: int) -> set[int]:
        """The run of taken ids around `meter_id` (just it, when it is free)."""
        run = {meter_id}
        if meter_id not in self.keys:
            return run
        for step in (1, -1):
            at = meter_id
            while True:
                at = (at - 1 + step) % self.size + 1
                if at not in self.keys or at in run:
                    break
                run.add(at)
        return run


def best_effort_id(plan: SwitchPlan, port: int, network: str,
                   taken: set[int] | None = None) -> int:
    """The id a new best-effort meter of `network` out of `port` would take on `plan`'s
    switch with the ids its best-effort meters hold (or `taken`, when the caller keeps
    count): its home id, or the next free one."""
    if taken is None:
        taken = {spec.meter_id for spec in plan.best_effort.values()}
    meter_id = _home_id(port, network, BEST_EFFORT_IDS)
    while meter_id in taken:
        meter_id = meter_id % BEST_EFFORT_IDS + 1
    return meter_id


@lru_cache(maxsize=1 << 17)
def _home_id(port: int, network: str, size: int) -> int:
    """Where `network`'s best-effort meter id out of `port` starts (a hash: kept)."""
    return content_hash("best-effort", port, network) % size + 1
