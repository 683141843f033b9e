"""Primary and shadow paths between the switches a network's hosts attach to (pure).

For every unordered pair of attachment switches:

- the primary path is a shortest path (hops), ties broken by headroom, i.e.
  the larger bottleneck capacity (unknown capacities count as unlimited),
  then by name;
- the shadow path is the shortest path that shares no switch with the
  primary path other than its two ends (survives a link *or* a transit
  switch failing); if there is none, the shortest sharing no link; if there
  is none either, the path sharing the fewest links with the primary (then
  the shortest, then the most headroom) -- `disjoint` says which one it is;
  ties between equally good shadow candidates go by the network's salt
  (`network_salt`), so that the shadow paths of many networks spread over
  the fabric's equal-cost paths, while one network's pairs go the same way;
- a pair on one switch has the one-switch path for both.

Paths for b -> a are the reverses of a -> b, so both directions of a flow
take the same links.

`taken` follows a frame through what forwarding installs for these pairs
(`openflow.forwarding`, `openflow.routes`): the failover group at every
switch of the network on the way, not only at the source, so it is the
route traffic takes now, wherever a link failed.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from sdn_shadow.topology import MAX_CANDIDATES, Fabric


@dataclass(frozen=True, slots=True)
class PathPair:
    """A primary path and its shadow, as switch lists from `src` to `dst`."""

    primary: tuple[str, ...]
    shadow: tuple[str, ...]
    disjoint: str
    """"nodes", "links", "partial" (shares some links) or "none" (same path)."""

    def reversed(self) -> PathPair:
        """The same pair seen from the other end."""
        return PathPair(self.primary[::-1], self.shadow[::-1], self.disjoint)


def _links(path: Iterable[str]) -> set[frozenset[str]]:
    nodes = list(path)
    return {frozenset(pair) for pair in zip(nodes, nodes[1:], strict=False)}


def headroom(fabric: Fabric, path: tuple[str, ...]) -> float:
    """The path's bottleneck capacity in Mbit/s (inf when no link states one)."""
    return fabric.headroom(path)


def network_salt(name: str) -> int:
    """Network `name`'s tie-break among equal-cost shadow paths: stable, spread over
    networks."""
    digest = hashlib.blake2b(f"route:{name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def path_pair(fabric: Fabric, src: str, dst: str, salt: int = 0) -> PathPair:
    """The primary path from `src` to `dst` and its shadow (`salt`: the network's). Each
    pair's candidates are found once per fabric; the salt picks among them."""
    found = fabric.cache.get(("shadow_candidates", src, dst))
    if found is None:
        found = fabric.cache[("shadow_candidates", src, dst)] = _candidates(fabric, src, dst)
    assert isinstance(found, tuple)
    return found[salt % len(found)]  # type: ignore[no-any-return]


def _candidates(fabric: Fabric, src: str, dst: str) -> tuple[PathPair, ...]:
    """The pairs a salt picks from: the primary path with each equally good shadow."""
    if src == dst:
        return (PathPair((src,), (src,), "nodes"),)
    primary = fabric.best(src, dst)
    if primary is None:
        raise ValueError(f"no fabric path from {src} to {dst}")
    used = frozenset(_links(primary))
    direct = used if len(primary) == 2 else frozenset()
    shadows = fabric.candidates(src, dst, frozenset(primary[1:-1]), direct)
    if shadows:
        return tuple(PathPair(primary, shadow, "nodes") for shadow in shadows)
    shadows = fabric.candidates(src, dst, avoid_links=used)
    if shadows:
        return tuple(PathPair(primary, shadow, "links") for shadow in shadows)
    a, b = sorted((src, dst))  # the same fallback both ways
    others = [tuple(p) for p in itertools.islice(
        nx.shortest_simple_paths(fabric.graph, a, b), MAX_CANDIDATES)
        if tuple(p) not in (primary, primary[::-1])]
    if not others:
        return (PathPair(primary, primary, "none"),)
    shadow = min(others, key=lambda p: (len(_links(p) & used), len(p), -headroom(fabric, p), p))
    return (PathPair(primary, shadow if shadow[0] == src else shadow[::-1], "partial"),)


def network_paths(fabric: Fabric, switches: Iterable[str], salt: int = 0
                  ) -> dict[tuple[str, str], PathPair]:
    """Path pairs for every ordered pair of the given attachment switches (`salt`: the
    network's, see `network_salt`)."""
    names = sorted(set(switches))
    return {(a, b): path_pair(fabric, a, b, salt) for a in names for b in names}


def crosses(path: tuple[str, ...], failed: frozenset[frozenset[str]]) -> bool:
    """Whether a link of `path` has failed."""
    return any(frozenset(hop) in failed for hop in zip(path, path[1:], strict=False))


def shadow_first(route: tuple[str, ...], shadow: tuple[str, ...],
                 failed: frozenset[frozenset[str]], prefer_shadow: bool) -> bool:
    """Whether the shadow path goes first in a failover group: when a link anywhere on the
    preferred path has failed and none on the other, the other one does (the pin)."""
    if failed and crosses(route, failed) != crosses(shadow, failed):
        return crosses(route, failed)
    return prefer_shadow


@dataclass(frozen=True, slots=True)
class Taken:
    """The switches a frame crosses (from the source), and whether it arrives."""

    switches: tuple[str, ...]
    arrives: bool
    shadow_from: str | None
    """The switch whose group sent it onto a shadow path (None: it never took one)."""


def taken(fabric: Fabric, pairs: Mapping[tuple[str, str], PathPair], src: str, dst: str,
          failed: frozenset[frozenset[str]], prefer_shadow: bool) -> Taken:
    """The route a frame from switch `src` to switch `dst` takes now.

    `pairs` are the network's path pairs by switch pair: a switch with a pair
    for `dst` sends through a fast-failover group over both paths (shadow
    first if pinned there, or if `prefer_shadow` at the source: a moved
    client), whose first bucket with a live first link wins; other switches
    forward along the fabric's route. On a shadow path a frame keeps the
    shadow tag to the end (transit entries have no group). A frame is lost
    on a failed link, or where it would leave by the port it came in on.
    """
    walked, at, came_from, prefer = [src], src, "", prefer_shadow
    while at != dst:
        route = tuple(fabric.path(at, dst) or ())
        pair = pairs.get((at, dst))
        if pair is not None:
            route = route or pair.primary
            ways = [route, pair.shadow]
            if route[1] == pair.shadow[1]:  # one port: a plain output, no group
                ways = [pair.shadow] if prefer else [route]
            elif shadow_first(route, pair.shadow, failed, prefer):
                ways = ways[::-1]
            live = [w for w in ways if frozenset(w[:2]) not in failed]  # the group's pick
            if live and live[0] is pair.shadow and live[0] != route:
                if live[0][1] == came_from:
                    break
                return _along(walked, pair.shadow, failed, at)
            route = live[0] if live else ()
        if len(route) < 2 or route[1] == came_from or frozenset(route[:2]) in failed:
            break
        came_from, at, prefer = at, route[1], False  # transit entries prefer the primary
        walked.append(at)
    return Taken(tuple(walked), at == dst, None)


def _along(walked: list[str], shadow: tuple[str, ...], failed: frozenset[frozenset[str]],
           start: str) -> Taken:
    """`walked` continued along `shadow` (tagged: no group on the way) until a failed link."""
    for a, b in zip(shadow, shadow[1:], strict=False):
        if frozenset((a, b)) in failed:
            return Taken(tuple(walked), False, start)
        walked.append(b)
    return Taken(tuple(walked), True, start)


def broken(path: tuple[str, ...], failed: frozenset[frozenset[str]]) -> list[str]:
    """The failed links of `path`, each as `a-b` (names sorted), sorted."""
    return sorted("-".join(sorted(hop)) for hop in zip(path, path[1:], strict=False)
                  if frozenset(hop) in failed)


def current(fabric: Fabric, pairs: Mapping[tuple[str, str], PathPair], pair: PathPair,
            failed: frozenset[frozenset[str]], moved: list[str]) -> dict[str, object]:
    """Which way traffic from `pair`'s first switch to its last goes now (see `taken`):
    `current` is "primary", "shadow", "detour" (another route: a transit switch's group
    turned it onto its own shadow path) or "lost"; with its `reason`, the `taken`
    switches and the `failed` links on each path. `moved`: the ends moved to the shadow."""
    src, dst = pair.primary[0], pair.primary[-1]
    route = tuple(fabric.path(src, dst) or pair.primary)
    on_primary, on_shadow = broken(route, failed), broken(pair.shadow, failed)
    way = taken(fabric, {**pairs, (src, dst): pair}, src, dst, failed, bool(moved))
    why = "nothing moved or failed"
    if bool(on_primary) != bool(on_shadow):
        why = f"failed link on the {'primary' if on_primary else 'shadow'} path"
    elif moved:
        why = f"moved to the shadow path: {', '.join(moved)}"
    if len(route) < 2:
        kind, why = "primary", "both hosts on one switch"
    elif not way.arrives:
        kind = "lost"
        why = (f"lost at {way.switches[-1]}: "
               f"failed links {', '.join(on_primary + on_shadow) or 'none'}")
    elif way.switches == route:
        kind = "primary"
    elif way.switches == pair.shadow:
        kind = "shadow"
    else:
        kind = "detour"
        why = (f"failed links {', '.join(on_primary + on_shadow)}: "
               f"{way.shadow_from or way.switches[1]}'s failover group sends it "
               "another way")
    return {"current": kind, "reason": why, "taken": list(way.switches),
            "failed": {"primary": on_primary, "shadow": on_shadow}}
