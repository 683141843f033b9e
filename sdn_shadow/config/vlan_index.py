"""The VLAN ids a running configuration's networks hold, to assign one edited network's alone.

`assign_vlans` gives each unset id the first free one from a home hashed from
its own name, claims taken in (base, key) order after every explicit id. An
edit of one network over the API need not run that over every network: with
the others' ids held as the running configuration has them, `edited_ids`
walks only the edited network's claims. It answers the ids the whole
assignment would give them, or None whenever another network's id might
move (one of its claims would be taken by an edited claim sorted before it,
or an id the edit frees lies on the way of an id not at its home); the caller
then runs the whole assignment. Which network holds each id is kept per
configuration (`VlanIndex.of`) and derived for the next one from the last
(`VlanIndex.edited`), so an edit costs its own network's ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from .assemble import _RANGES, VLAN_BASE_MIRROR, VLAN_BASE_NETWORK, VLAN_BASE_SHADOW, home_vlan
from .context import MAX_VLAN
from .model import Config, Network

Slot = tuple[str, int]  # (network, position in `vlans_of`)
Claim = tuple[int, str, Any]  # (base, key, explicit id or None)


def vlans_of(net: Network) -> tuple[int, ...]:
    """A network's VLAN ids: its own, its shadow's, each twin's (in that order)."""
    if net.shadow is None:
        return (net.vlan,)
    return (net.vlan, net.shadow.vlan, *(t.mirror_vlan for t in net.shadow.hosts))


def claims(name: str, spec: Any) -> Iterator[Claim]:
    """(base, key, explicit id or None) of a network definition, in `vlans_of`'s order."""
    spec = spec if isinstance(spec, dict) else {}
    yield VLAN_BASE_NETWORK, name, spec.get("vlan")
    shadow = spec.get("shadow")
    if not isinstance(shadow, dict):
        return
    yield VLAN_BASE_SHADOW, name, shadow.get("vlan")
    hosts = shadow.get("hosts")
    for twin, item in (hosts.items() if isinstance(hosts, dict) else ()):
        item = item if isinstance(item, dict) else {}
        yield VLAN_BASE_MIRROR, f"{name}/{twin}", item.get("mirror_vlan")


def _homes(net: Network) -> Iterator[tuple[int, str]]:
    """(base, key) of each of a network's ids, in `vlans_of`'s order."""
    yield VLAN_BASE_NETWORK, net.name
    if net.shadow is not None:
        yield VLAN_BASE_SHADOW, net.name
        for twin in net.shadow.hosts:
            yield VLAN_BASE_MIRROR, f"{net.name}/{twin.name}"


@lru_cache(maxsize=65536)
def home(base: int, key: str) -> int:
    """`home_vlan`, kept: a key's home never changes."""
    return home_vlan(base, key)


def _order(base: int, key: str) -> Iterator[int]:
    """The ids in the order `assemble._free_vlan` tries them for `key`."""
    start, end = home(base, key), _RANGES[base]
    return chain(range(start, end), range(base, start), range(end, MAX_VLAN + 1),
                 range(1, base))


def _rank(vid: int, base: int, start: int) -> int:
    """Where `vid` comes in `_order` for a key of kind `base` whose home is `start`."""
    end = _RANGES[base]
    if start <= vid < end:
        return vid - start
    if base <= vid < start:
        return end - start + vid - base
    if end <= vid <= MAX_VLAN:
        return end - base + vid - end
    return end - base + MAX_VLAN + 1 - end + vid - 1


@dataclass(frozen=True)
class VlanIndex:
    """Who holds each VLAN id of one configuration's networks, and the ids off their home."""

    owner: dict[int, Slot]
    slots: dict[str, tuple[tuple[int, str, int, bool | None], ...]]
    """Each network's (base, key, id, explicit) in `vlans_of`'s order (explicit None: not
    known, the network's definition was not at hand)."""
    away: dict[Slot, tuple[int, str, int]]
    """(base, key, id) of each id that is not its key's home (explicit or moved on)."""

    @staticmethod
    def of(config: Config, networks: Mapping[str, Any], edited: str) -> VlanIndex:
        """The index of `config`'s networks (kept per networks tuple: derived from the
        last configuration's by `edited`, built whole only for one not seen, with which
        ids are explicit read from `networks`, the definitions it was parsed from but
        for network `edited`'s, whose are not known then)."""
        nets = config.networks
        kept = _INDEXES.get(id(nets))
        if kept is not None and kept[0] is nets:
            return kept[1]
        index = VlanIndex({}, {}, {})
        for net in nets:
            index._add(net, [] if net.name == edited else
                       list(claims(net.name, networks.get(net.name))))
        return _keep(nets, index)

    def _add(self, net: Network, defined: list[Claim]) -> None:
        """Index `net`, defined by `defined` (its claims; when they are not its ids' own,
        which are explicit is not known)."""
        ids = vlans_of(net)
        known = len(defined) == len(ids)
        mine = self.slots[net.name] = tuple(
            (base, key, vid, defined[slot][2] is not None
             if known and defined[slot][:2] == (base, key) and defined[slot][2] in (None, vid)
             else None)
            for slot, ((base, key), vid) in enumerate(zip(_homes(net), ids, strict=True)))
        for slot, (base, key, vid, _) in enumerate(mine):
            self.owner[vid] = (net.name, slot)
            if home(base, key) != vid:
                self.away[(net.name, slot)] = (base, key, vid)

    def edited(self, networks: tuple[Network, ...], name: str, placed: Network | None,
               defined: list[Claim]) -> VlanIndex:
        """The index of `networks`: this one's with network `name` now `placed` (None:
        removed; `defined`: its definition's claims); copies of the maps, the edited
        network's entries changed."""
        new = VlanIndex(dict(self.owner), dict(self.slots), dict(self.away))
        for slot, (_, _, vid, _) in enumerate(new.slots.pop(name, ())):
            if new.owner.get(vid) == (name, slot):
                del new.owner[vid]
            new.away.pop((name, slot), None)
        if placed is not None:
            new._add(placed, defined)
        return _keep(networks, new)

    def taken(self, name: str) -> Mapping[int, str]:
        """id -> network, for every network but `name` (read only)."""
        return _Taken(self, name)


_INDEXES: dict[int, tuple[tuple[Network, ...], VlanIndex]] = {}


def _keep(nets: tuple[Network, ...], index: VlanIndex) -> VlanIndex:
    if len(_INDEXES) >= 8:
        del _INDEXES[next(iter(_INDEXES))]
    _INDEXES[id(nets)] = (nets, index)
    return index


class _Taken(Mapping[int, str]):
    """The ids the networks but one hold, as id -> network."""

    def __init__(self, index: VlanIndex, name: str) -> None:
        self.index, self.name = index, name

    def __getitem__(self, vid: int) -> str:
        held = self.index.owner.get(vid)
        if held is None or held[0] == self.name:
            raise KeyError(vid)
        return held[0]

    def __iter__(self) -> Iterator[int]:
        return (vid for vid, held in self.index.owner.items() if held[0] != self.name)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def edited_ids(index: VlanIndex, networks: Mapping[str, Any], name: str
               ) -> tuple[int, ...] | None:
    """The ids `assign_vlans` gives network `name` as `networks` defines it (() when it
    has none), when every other network keeps the ids `index` has for it; None when
    one might not (or a definition is not plain): the whole assignment decides.

    `networks` must define every other network as the configuration of `index`.
    """
    mine = list(claims(name, networks[name])) if name in networks else []
    taken: set[int] = set()
    ids = [0] * len(mine)
    wanted = []
    for slot, (_, _, vid) in enumerate(mine):
        if vid is None:
            wanted.append(slot)
            continue
        if not isinstance(vid, int) or isinstance(vid, bool):
            return None
        held = index.owner.get(vid)
        if held is not None and held[0] != name:
            return None  # another network's id: a problem the whole parse reports
        taken.add(vid)
        ids[slot] = vid
    for slot in sorted(wanted, key=lambda s: (mine[s][0], mine[s][1])):
        base, key, _ = mine[slot]
        vid = _first_free(index, networks, name, taken, base, key)
        if vid is None:
            return None
        taken.add(vid)
        ids[slot] = vid
    now = {vid: (base, key, explicit is not None)
           for (base, key, explicit), vid in zip(mine, ids, strict=True)}
    moved = {vid for base, key, vid, explicit in index.slots.get(name, ())
             if explicit is None or now.get(vid) != (base, key, explicit)}
    if moved and any(_rank(vid, base, home(base, key)) < _rank(at, base, home(base, key))
                     for (net, _), (base, key, at) in index.away.items() if net != name
                     for vid in moved):
        return None  # an id taken on the way to another's may be free for it sooner now
    return tuple(ids)


def _first_free(index: VlanIndex, networks: Mapping[str, Any], name: str, taken: set[int],
                base: int, key: str) -> int | None:
    """The id claim (base, key) of network `name` takes; None when it would take another
    network's (assigned to a claim sorted after it) or none is free."""
    for vid in _order(base, key):
        if vid in taken:
            continue
        held = index.owner.get(vid)
        if held is None or held[0] == name:
            return vid
        other, slot = held
        claim = next(islice(claims(other, networks.get(other)), slot, None), None)
        if claim is None or claim[2] not in (None, vid):
            return None  # the definition is not the one the index was made from
        if claim[2] is None and (claim[0], claim[1]) > (base, key):
            return None  # this claim comes first: that network's id would move
    return None


__all__ = ["VlanIndex", "claims", "edited_ids", "home", "vlans_of"]
